import { html } from './html.js'

const KEY = 'stagedoor.lang'

/** The page's language: the one the visitor chose here, else the browser's. */
export function initialLanguage() {
  const chosen = localStorage.getItem(KEY)
  if (chosen === 'ko' || chosen === 'en') return chosen
  return (navigator.language || 'en').toLowerCase().startsWith('ko') ? 'ko' : 'en'
}

export function applyLanguage(lang, remember) {
  document.documentElement.lang = lang
  if (remember) localStorage.setItem(KEY, lang)
}

/** The control that switches language, named in the language it switches to. */
export function LanguageSwitch({ lang, onChange }) {
  const other = lang === 'ko' ? 'en' : 'ko'
  return html`<button type="button" class="lang" lang=${other} onClick=${() => onChange(other)}>
    ${other === 'ko' ? '한국어' : 'English'}
  </button>`
}

export const formatDate = (lang, iso) =>
  new Intl.DateTimeFormat(lang === 'ko' ? 'ko-KR' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso))

export const formatWon = (lang, amount) =>
  new Intl.NumberFormat(lang === 'ko' ? 'ko-KR' : 'en-US', { style: 'currency', currency: 'KRW' }).format(amount)

export const formatNumber = (lang, n) => new Intl.NumberFormat(lang === 'ko' ? 'ko-KR' : 'en-US').format(n)
