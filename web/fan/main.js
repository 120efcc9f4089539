import { request } from '../shared/api.js'
import { html, render, useEffect, useState } from '../shared/html.js'
import { applyLanguage, initialLanguage, LanguageSwitch } from '../shared/i18n.js'
import { ConcertPage } from './concert.js'
import { ConcertList } from './concerts.js'
import { explain, strings } from './strings.js'
import { Tickets } from './tickets.js'

/**
 * @import { Concert, Page, Problem } from '../shared/api.js'
 * @import { Lang } from '../shared/i18n.js'
 */

/** @typedef {{ page: 'list' } | { page: 'tickets' } | { page: 'concert', concertId: string }} Route */

/**
 * The fan's place in the pages, from the URL fragment: the list, a concert, or their tickets.
 * @param {string} hash
 * @returns {Route}
 */
function routeOf(hash) {
  const concert = /^#\/concerts\/([^/]+)$/.exec(hash)
  if (concert) return { page: 'concert', concertId: decodeURIComponent(concert[1]) }
  if (hash === '#/tickets') return { page: 'tickets' }
  return { page: 'list' }
}

function App() {
  const [lang, setLang] = useState(initialLanguage)
  const [route, setRoute] = useState(() => routeOf(location.hash))
  const [concerts, setConcerts] = useState(/** @type {Concert[] | undefined} */ (undefined))
  const [problem, setProblem] = useState(/** @type {Problem | undefined} */ (undefined))
  const t = strings[lang]

  useEffect(() => {
    const onHash = () => setRoute(routeOf(location.hash))
    addEventListener('hashchange', onHash)
    return () => removeEventListener('hashchange', onHash)
  }, [])
  useEffect(() => {
    const answer = /** @type {Promise<Page<Concert>>} */ (request('GET', '/v1/concerts'))
    answer.then((body) => setConcerts(body.items), setProblem)
  }, [])

  const switchLanguage = (/** @type {Lang} */ next) => {
    applyLanguage(next, true)
    setLang(next)
  }
  const concert = route.page === 'concert' ? concerts?.find((c) => c.concertId === route.concertId) : undefined

  return html`
    <header class="bar">
      <a class="brand" href="#/">${t.siteName}</a>
      <nav><a href="#/tickets">${t.myTickets}</a></nav>
      <${LanguageSwitch} lang=${lang} onChange=${switchLanguage} />
    </header>
    <main>
      ${problem && html`<p role="alert" class="problem">${explain(t, problem)}</p>`}
      ${!concerts && !problem && html`<p>${t.loading}</p>`}
      ${concerts && route.page === 'list' && html`<${ConcertList} t=${t} lang=${lang} concerts=${concerts} />`}
      ${concerts && route.page === 'tickets' && html`<${Tickets} t=${t} lang=${lang} concerts=${concerts} />`}
      ${concerts && route.page === 'concert' && !concert && html`<p role="alert" class="problem">${t.errors.NOT_FOUND}</p>`}
      ${concert && html`<${ConcertPage} key=${concert.concertId} t=${t} lang=${lang} concert=${concert} />`}
    </main>
  `
}

// The root element names the language before anything is drawn.
applyLanguage(initialLanguage(), false)
render(html`<${App} />`, /** @type {HTMLElement} */ (document.getElementById('app')))
