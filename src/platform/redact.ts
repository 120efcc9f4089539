/** `scheme://user:password@` anywhere in a text; the password may hold an `@` of its own. */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>:/?#@]*):[^\s"'<>/?#]*@/gi

/** The text with the password of every URL in it replaced by `***` (`postgres://user:***@host/db`). */
export const redactUrlPasswords = (text: string): string => text.replace(URL_PASSWORD, '$1:***@')

/** Shorter values are left to the URL rule: hiding them wherever they occur would blank common words. */
const SHORTEST_HIDDEN = 8

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * A function that hides these values in a text (as given, percent-decoded, and escaped as in a
 * JSON string) and every URL's password: for log lines, whatever put the secret in them.
 */
export function redactor(values: readonly string[]): (text: string) => string {
  const forms = new Set<string>()
  for (const value of values) {
    forms.add(value)
    forms.add(JSON.stringify(value).slice(1, -1))
    try {
      forms.add(decodeURIComponent(value))
    } catch {
      // not percent-encoded
    }
  }
  const hidden = [...forms].filter((form) => form.length >= SHORTEST_HIDDEN)
  if (hidden.length === 0) return redactUrlPasswords
  // Longest first, so a value that contains another is hidden whole.
  const pattern = new RegExp(
    hidden
      .sort((a, b) => b.length - a.length)
      .map(escapeRegExp)
      .join('|'),
    'g',
  )
  return (text) => redactUrlPasswords(text.replace(pattern, '***'))
}
