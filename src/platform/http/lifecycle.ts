import { AppError } from '../errors.js'
import type { App } from './types.js'

export interface Lifecycle {
  /** True from `app.drain()` (or the start of closing) on: /ready answers 503. */
  draining(): boolean
}

/**
 * The process's way down. `app.drain()` turns readiness off while requests are still served;
 * once closing, a new request gets 503 SHUTTING_DOWN with `Connection: close`; after the requests
 * in flight (and the other close hooks, such as the loops') the stores close.
 */
export function installLifecycle(app: App, closeStores: () => Promise<void>): Lifecycle {
  const state = { draining: false, closing: false }
  app.decorate('drain', () => {
    state.draining = true
  })
  app.addHook('onRequest', (_request, reply, done) => {
    if (!state.closing) return done()
    reply.header('connection', 'close')
    done(new AppError('SHUTTING_DOWN', 'this process is shutting down; retry'))
  })
  app.addHook('preClose', async () => {
    state.draining = true
    state.closing = true
  })
  app.addHook('onClose', closeStores)
  return { draining: () => state.draining }
}
