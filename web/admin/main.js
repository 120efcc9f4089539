import { html, render, useEffect, useState } from '../shared/html.js'
import { applyLanguage, initialLanguage, LanguageSwitch } from '../shared/i18n.js'
import { useAction } from './action.js'
import { checkKey, keepKey, keptKey } from './admin-api.js'
import { Console } from './console.js'
import { explain, strings } from './strings.js'

/**
 * @import { Problem } from '../shared/api.js'
 * @import { FieldEvent } from '../shared/html.js'
 * @import { Lang } from '../shared/i18n.js'
 * @import { Strings } from './strings.js'
 */

/**
 * The admin key, checked before the console opens; a refusal that signed the operator out is shown.
 * @param {{ t: Strings, onSignedIn: (key: string) => void, refusal: Problem | undefined }} props
 */
function SignIn({ t, onSignedIn, refusal }) {
  const [key, setKey] = useState('')
  const { busy, problem, run } = useAction(refusal)
  const submit = (/** @type {Event} */ event) => {
    event.preventDefault()
    run(async () => {
      await checkKey(key)
      onSignedIn(key)
    })
  }
  return html`
    <form class="card sign-in" onSubmit=${submit}>
      <label>
        ${t.adminKey}
        <input type="password" autocomplete="current-password" required value=${key} onInput=${(/** @type {FieldEvent} */ e) => setKey(e.currentTarget.value)} />
      </label>
      <button type="submit" class="primary" disabled=${busy}>${t.signIn}</button>
      <p class="note">${t.keyNote}</p>
      ${problem && html`<p role="alert" class="problem">${explain(t, problem)}</p>`}
    </form>
  `
}

function App() {
  const [lang, setLang] = useState(initialLanguage)
  const [key, setKey] = useState(keptKey)
  const [refusal, setRefusal] = useState(/** @type {Problem | undefined} */ (undefined))
  const t = strings[lang]
  useEffect(() => {
    document.title = t.title
  }, [t])

  const signIn = (/** @type {string} */ k) => {
    keepKey(k)
    setKey(k)
  }
  /**
   * A refused key (rotated since sign-in) signs the operator out, saying why.
   * @param {Problem} [problem]
   */
  const signOut = (problem) => {
    keepKey(null)
    setKey(null)
    setRefusal(problem)
  }
  const switchLanguage = (/** @type {Lang} */ next) => {
    applyLanguage(next, true)
    setLang(next)
  }
  return html`
    <header class="bar">
      <span class="brand">${t.title}</span>
      <nav></nav>
      ${key && html`<button type="button" onClick=${() => signOut()}>${t.signOut}</button>`}
      <${LanguageSwitch} lang=${lang} onChange=${switchLanguage} />
    </header>
    <main class="wide">
      ${key ? html`<${Console} t=${t} lang=${lang} adminKey=${key} onRefused=${signOut} />` : html`<${SignIn} t=${t} onSignedIn=${signIn} refusal=${refusal} />`}
    </main>
  `
}

// The root element names the language before anything is drawn.
applyLanguage(initialLanguage(), false)
render(html`<${App} />`, /** @type {HTMLElement} */ (document.getElementById('app')))
