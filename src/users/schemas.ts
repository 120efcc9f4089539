import { Type } from 'typebox'

export const SignedUpSchema = Type.Object({ userId: Type.String(), accessToken: Type.String() })
