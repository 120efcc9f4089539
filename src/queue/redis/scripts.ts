import { readdirSync, readFileSync } from 'node:fs'
import type { RedisClient } from '../../redis/client.js'

const luaDir = new URL('./lua/', import.meta.url)
const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  version: string
}

export type ScriptName = 'join' | 'status' | 'touch' | 'peek' | 'end' | 'tick' | 'recent' | 'figures'

/** A script file with its `-- @include "name"` lines replaced by includes/name.lua. */
function loadScript(file: string): string {
  return readFileSync(new URL(file, luaDir), 'utf8').replace(/^-- @include "([\w-]+)"$/gm, (_, name: string) =>
    readFileSync(new URL(`includes/${name}.lua`, luaDir), 'utf8'),
  )
}

/**
 * The waiting room's Lua scripts, one file each, named `name-<numberOfKeys>.lua`. They are
 * registered under names carrying the package version, so two deployed versions never run each
 * other's scripts; ioredis sends EVALSHA and falls back to EVAL once per node.
 */
export class QueueScripts {
  constructor(private readonly redis: RedisClient) {
    for (const file of readdirSync(luaDir)) {
      const match = /^([a-z]+)-(\d+)\.lua$/.exec(file)
      if (!match) continue
      redis.defineCommand(this.commandName(match[1] as ScriptName), {
        numberOfKeys: Number(match[2]),
        lua: loadScript(file),
      })
    }
  }

  run(name: ScriptName, keys: string[], args: (string | number)[]): Promise<unknown> {
    const command = (this.redis as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)[
      this.commandName(name)
    ]!
    return command.call(this.redis, ...keys, ...args)
  }

  private commandName(name: ScriptName) {
    return `stagedoor_${version.replaceAll('.', '_')}_${name}`
  }
}
