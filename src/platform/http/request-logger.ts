import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify'
import type { Logger } from 'pino'

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'
type Bindings = Record<string, unknown>

/**
 * A request's logger that becomes pino's child (with the request id bound) on its first line: a
 * pino child serialises its bindings when it is made, and most requests log nothing at the
 * levels a busy sale runs at. A line that is logged carries the request id as before.
 */
class RequestLogger {
  #child: Logger | undefined

  constructor(
    private readonly parent: Logger,
    private readonly bindings: Bindings,
  ) {}

  get level(): string {
    return (this.#child ?? this.parent).level
  }

  set level(level: string) {
    this.#logger().level = level
  }

  fatal(...args: unknown[]) {
    this.#log('fatal', args)
  }
  error(...args: unknown[]) {
    this.#log('error', args)
  }
  warn(...args: unknown[]) {
    this.#log('warn', args)
  }
  info(...args: unknown[]) {
    this.#log('info', args)
  }
  debug(...args: unknown[]) {
    this.#log('debug', args)
  }
  trace(...args: unknown[]) {
    this.#log('trace', args)
  }
  silent() {}

  child(bindings: Bindings, options?: object): Logger {
    return this.#logger().child(bindings, options)
  }

  #logger(): Logger {
    this.#child ??= this.parent.child(this.bindings)
    return this.#child
  }

  #log(level: Level, args: unknown[]) {
    if (!(this.#child ?? this.parent).isLevelEnabled(level)) return
    ;(this.#logger()[level] as (...a: unknown[]) => void)(...args)
  }
}

/** Fastify's childLoggerFactory: lazy request loggers, unless a route sets options of its own. */
export const requestLoggers: NonNullable<FastifyServerOptions['childLoggerFactory']> = (logger, bindings, options) =>
  Object.keys(options).length > 0
    ? logger.child(bindings, options)
    : (new RequestLogger(logger as unknown as Logger, bindings) as unknown as FastifyBaseLogger)
