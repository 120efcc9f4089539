import { Type } from 'typebox'
import { DateTime, Id } from '../platform/http/schemas.js'

const SeatStatus = Type.Union([Type.Literal('AVAILABLE'), Type.Literal('HELD'), Type.Literal('SOLD')])
const ReservationStatus = Type.Union([
  Type.Literal('HELD'),
  Type.Literal('CONFIRMED'),
  Type.Literal('EXPIRED'),
  Type.Literal('RELEASED'),
  Type.Literal('REFUNDED'),
])

export const ReservationSchema = Type.Object({
  reservationId: Type.String(),
  concertId: Type.String(),
  scheduleId: Type.String(),
  seatNo: Type.Integer(),
  price: Type.Integer(),
  status: ReservationStatus,
  heldUntil: DateTime,
  createdAt: DateTime,
  /** When the date starts: a concert's refund policy counts back from it. */
  startsAt: DateTime,
})

const DateFields = {
  scheduleId: Type.String(),
  startsAt: DateTime,
  availableSeats: Type.Integer(),
  totalSeats: Type.Integer(),
}

export const DatesSchema = Type.Object({ items: Type.Array(Type.Object(DateFields)) })

export const OperatorDatesSchema = Type.Object({
  items: Type.Array(
    Type.Object({
      ...DateFields,
      status: Type.Union([Type.Literal('ON_SALE'), Type.Literal('CANCELLING'), Type.Literal('CANCELLED')], {
        description: 'a cancelled date takes no hold or payment; CANCELLING while its paid seats are refunded',
      }),
    }),
  ),
})

export const SeatMapQuery = Type.Object(
  { format: Type.Optional(Type.Union([Type.Literal('full'), Type.Literal('compact')])) },
  { additionalProperties: false },
)

/** The two forms of a seat map: every seat, or the sections with the held and sold seat numbers. */
export const SeatMapSchema = Type.Union([
  Type.Object({
    scheduleId: Type.String(),
    totalSeats: Type.Integer(),
    seats: Type.Array(
      Type.Object({
        seatNo: Type.Integer(),
        section: Type.String(),
        row: Type.Integer(),
        price: Type.Integer(),
        status: SeatStatus,
      }),
    ),
  }),
  Type.Object({
    scheduleId: Type.String(),
    totalSeats: Type.Integer(),
    sections: Type.Array(
      Type.Object({
        name: Type.String(),
        firstSeatNo: Type.Integer(),
        rows: Type.Integer(),
        seatsPerRow: Type.Integer(),
        price: Type.Integer(),
      }),
    ),
    held: Type.Array(Type.Integer()),
    sold: Type.Array(Type.Integer()),
  }),
])

export const HoldBody = Type.Object(
  { scheduleId: Id, seatNo: Type.Integer({ minimum: 1, maximum: 100_000 }) },
  { additionalProperties: false },
)

export const HeldSchema = Type.Object({
  reservationId: Type.String(),
  scheduleId: Type.String(),
  seatNo: Type.Integer(),
  price: Type.Integer(),
  status: Type.Literal('HELD'),
  heldUntil: DateTime,
})
