import { request } from '../shared/api.js'

/** @import { RequestOptions } from '../shared/api.js' */

/**
 * A request with the operator's key; the caller names the answer's shape.
 * @typedef {(method: string, path: string, options?: RequestOptions) => Promise<unknown>} AdminCall
 */

/** The admin key lives in sessionStorage: it leaves with the tab. */
const KEY = 'stagedoor.adminKey'

export const keptKey = () => sessionStorage.getItem(KEY)

/** @param {string | null} key none to forget it */
export function keepKey(key) {
  if (key) sessionStorage.setItem(KEY, key)
  else sessionStorage.removeItem(KEY)
}

/**
 * A request with the admin key.
 * @param {string} key
 * @param {string} method
 * @param {string} path
 * @param {RequestOptions} [options]
 */
export const asAdmin = (key, method, path, options = {}) =>
  request(method, path, { ...options, headers: { ...options.headers, 'x-admin-key': key } })

/** Whether the service takes this key: the metrics route answers only with it. */
export const checkKey = (/** @type {string} */ key) => asAdmin(key, 'GET', '/metrics')

/**
 * Saves a file the service sent, under the name its Content-Disposition gives.
 * @param {Response} res a success, its body unread
 * @param {string} fallbackName when the answer names no file
 */
export async function saveFile(res, fallbackName) {
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? fallbackName
  const url = URL.createObjectURL(await res.blob())
  const link = document.createElement('a')
  link.href = url
  link.download = name
  link.click()
  // The browser has the file by the time this runs out.
  setTimeout(() => URL.revokeObjectURL(url), 60_000)
}
