import type { App } from '../platform/http/types.js'
import type { Loop } from '../platform/periodic.js'
import type { Events } from './service.js'

/** How often each process's relay looks for new events and due deliveries. */
const RELAY_MS = 500
/** How often events past their retention are looked for. */
const RETENTION_SWEEP_MS = 60_000

/** The events component's background loops: the relay, and the retention sweep. */
export const eventLoops = (events: Events): Loop[] => [
  { periodMs: () => RELAY_MS, run: () => events.relay.runOnce(), failure: 'event relay batch failed' },
  { periodMs: () => RETENTION_SWEEP_MS, run: () => events.sweep(), failure: 'event retention sweep failed' },
]

/** The events component in an app: the relay's sends in flight cut, their claims given back, before the stores close. */
export function installEvents(app: App, events: Events) {
  app.addHook('preClose', () => events.relay.stop())
}
