import { readdirSync, readFileSync } from 'node:fs'
import type { RedisClient } from './client.js'

const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  version: string
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
    const command = (this.redis as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)[this.commandName(name)]!
    return command.call(this.redis, ...keys, ...args)
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
