import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import { pageHeaders } from '../platform/http/security-headers.js'
import type { App, Routes } from '../platform/http/types.js'

/** The page sources (fan and operator), plain ES modules served as they are. */
const WEB_ROOT = fileURLToPath(new URL('../../web/', import.meta.url))

const packageDir = (specifier: string) => dirname(fileURLToPath(import.meta.resolve(specifier)))

/**
 * The browser files taken from node_modules, each under a fixed path of ours: the pages' import
 * maps name these paths, so nothing is bundled and no page loads anything from elsewhere.
 */
function vendorFiles(): Record<string, string> {
  const preact = packageDir('preact')
  const altcha = packageDir('altcha-lib')
  const files: Record<string, string> = {
    'preact.js': join(preact, 'preact.module.js'),
    'preact-hooks.js': join(preact, '../hooks/dist/hooks.module.js'),
    'htm.js': join(packageDir('htm'), 'htm.module.js'),
    'uplot.js': join(packageDir('uplot'), 'uPlot.esm.js'),
    'uplot.css': join(packageDir('uplot'), 'uPlot.min.css'),
  }
  // altcha-lib's own solver and the browser's key derivations, with the modules they import.
  for (const file of ['pow.js', 'helpers.js', 'types.js', 'algorithms/web/sha.js', 'algorithms/web/pbkdf2.js']) {
    files[`altcha/${file}`] = join(altcha, file)
  }
  return files
}

/**
 * The pages' policy: everything from this origin, no inline code or styles, no eval, never
 * framed. The one inline element is each page's import map, JSON allowed by its hash.
 */
function pagePolicy(importMapHash: string) {
  return [
    "default-src 'self'",
    `script-src 'self' '${importMapHash}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ')
}

interface Page {
  html: Buffer
  policy: string
}

/** A page's HTML and its policy, which carries the hash of the page's import map. */
function loadPage(file: string): Page {
  const html = readFileSync(`${WEB_ROOT}${file}`, 'utf8')
  const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(html)?.[1]
  if (importMap === undefined) throw new Error(`${file} has no import map`)
  const hash = `sha256-${createHash('sha256').update(importMap).digest('base64')}`
  return { html: Buffer.from(html), policy: pagePolicy(hash) }
}

/** The fan pages at `/`, the operator console at `/admin`, their modules and the vendor files; they need no other part. */
export const webRoutes: Routes<Record<string, never>> = async (app) => {
  // helmet's headers for the pages and every file they load; a page then sets its own policy.
  await app.register(async (web) => {
    web.addHook('onRequest', pageHeaders)
    await pageAndFileRoutes(web)
  })
}

async function pageAndFileRoutes(app: App) {
  await app.register(fastifyStatic, {
    root: WEB_ROOT,
    prefix: '/',
    // One route per file, found at start: unknown paths stay the API's problem+json 404. The pages
    // are served through their own routes below; the type checker's settings are not served.
    wildcard: false,
    index: false,
    globIgnore: ['**/*.html', '**/tsconfig*.json'],
  })

  const pages: Record<string, Page> = { '/': loadPage('fan/index.html'), '/admin': loadPage('admin/index.html') }
  for (const [url, page] of Object.entries(pages)) {
    app.get(url, { schema: { hide: true } }, (_request, reply) =>
      reply
        .header('content-security-policy', page.policy)
        .header('cache-control', 'no-cache')
        .type('text/html; charset=utf-8')
        .send(page.html),
    )
  }

  for (const [url, path] of Object.entries(vendorFiles())) {
    app.get(`/vendor/${url}`, { schema: { hide: true } }, (_request, reply) => reply.sendFile(basename(path), dirname(path)))
  }
}
