import { request } from '../shared/api.js'

/** The admin key lives in sessionStorage: it leaves with the tab. */
const KEY = 'stagedoor.adminKey'

export const keptKey = () => sessionStorage.getItem(KEY)

export function keepKey(key) {
  if (key) sessionStorage.setItem(KEY, key)
  else sessionStorage.removeItem(KEY)
}

/** A request with the admin key. */
export const asAdmin = (key, method, path, options = {}) =>
  request(method, path, { ...options, headers: { ...options.headers, 'x-admin-key': key } })

/** Whether the service takes this key: the metrics route answers only with it. */
export const checkKey = (key) => asAdmin(key, 'GET', '/metrics')
