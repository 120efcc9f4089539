import { html } from './html.js'

/** @typedef {'en' | 'ko'} Lang */

const KEY = 'stagedoor.lang'

/**
 * The page's language: the one the visitor chose here, else the browser's.
 * @returns {Lang}
 */
export function initialLanguage() {
  const chosen = localStorage.getItem(KEY)
  if (chosen === 'ko' || chosen === 'en') return chosen
  return (navigator.language || 'en').toLowerCase().startsWith('ko') ? 'ko' : 'en'
}

/**
 * @param {Lang} lang
 * @param {boolean} remember whether this is the visitor's choice, kept for the next visit
 */
export function applyLanguage(lang, remember) {
  document.documentElement.lang = lang
  if (remember) localStorage.setItem(KEY, lang)
}

/**
 * The control that switches language, named in the language it switches to.
 * @param {{ lang: Lang, onChange: (lang: Lang) => void }} props
 */
export function LanguageSwitch({ lang, onChange }) {
  const other = lang === 'ko' ? 'en' : 'ko'
  return html`<button type="button" class="lang" lang=${other} onClick=${() => onChange(other)}>
    ${other === 'ko' ? '한국어' : 'English'}
  </button>`
}

/** @type {(lang: Lang, iso: string) => string} */
export const formatDate = (lang, iso) =>
  new Intl.DateTimeFormat(lang === 'ko' ? 'ko-KR' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso))

/** @type {(lang: Lang, amount: number) => string} */
export const formatWon = (lang, amount) =>
  new Intl.NumberFormat(lang === 'ko' ? 'ko-KR' : 'en-US', { style: 'currency', currency: 'KRW' }).format(amount)

/** @type {(lang: Lang, n: number) => string} */
export const formatNumber = (lang, n) => new Intl.NumberFormat(lang === 'ko' ? 'ko-KR' : 'en-US').format(n)

/** @type {(lang: Lang, percent: number) => string} a percentage given in percent (3.5 → "3.5%"), to a hundredth */
export const formatPercent = (lang, percent) =>
  new Intl.NumberFormat(lang === 'ko' ? 'ko-KR' : 'en-US', { style: 'percent', maximumFractionDigits: 2 }).format(percent / 100)
