/** A DATA_DIR of `memory://` keeps the embedded database, and the secrets made for it, in memory only. */
export const isInMemory = (dataDir: string) => dataDir.startsWith('memory://')
