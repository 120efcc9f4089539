import { readdirSync, readFileSync } from 'node:fs'
import { type RedisClient, redisObservers } from './client.js'

const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  version: string
}

/** Redis is not connected (refused, restarting, or gone). */
export class RedisUnavailable extends Error {
  override readonly name = 'RedisUnavailable'
  constructor() {
    super('Redis is not connected')
  }
}

/**
 * A folder of Lua scripts, one file each, named `name-<numberOfKeys>.lua`; a line
 * `-- @include "x"` is replaced by `includes/x.lua`. They are registered under names carrying the
 * package version, so two deployed versions never run each other's scripts; ioredis sends
 * EVALSHA and falls back to EVAL once per connection.
 */
export class LuaScripts<Name extends string> {
  constructor(
    private readonly redis: RedisClient,
    private readonly dir: URL,
    private readonly prefix: string,
  ) {
    for (const file of readdirSync(dir)) {
      const match = /^([a-z-]+?)-(\d+)\.lua$/.exec(file)
      if (!match) continue
      redis.defineCommand(this.commandName(match[1]!), { numberOfKeys: Number(match[2]), lua: this.load(file) })
    }
  }

  run(name: Name, keys: string[], args: (string | number)[]): Promise<unknown> {
    // A client that has lost its connection fails the call at once (503); sending on a dead
    // stream through the auto-pipeline would leave a rejection nobody handles.
    if (this.redis.status !== 'ready') return Promise.reject(new RedisUnavailable())
    const command = (this.redis as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)[this.commandName(name)]!
    const observe = redisObservers.get(this.redis)
    if (!observe) return command.call(this.redis, ...keys, ...args)
    const started = performance.now()
    return command.call(this.redis, ...keys, ...args).then(
      (result) => {
        observe((performance.now() - started) / 1000, false)
        return result
      },
      (err: unknown) => {
        observe((performance.now() - started) / 1000, true)
        throw err
      },
    )
  }

  private load(file: string): string {
    return readFileSync(new URL(file, this.dir), 'utf8').replace(/^-- @include "([\w-]+)"$/gm, (_, name: string) =>
      readFileSync(new URL(`includes/${name}.lua`, this.dir), 'utf8'),
    )
  }

  private commandName(name: string) {
    return `${this.prefix}_${version.replaceAll('.', '_')}_${name.replaceAll('-', '_')}`
  }
}
