import { request } from '../shared/api.js'
import { html, useEffect, useState } from '../shared/html.js'
import { asAdmin } from './admin-api.js'
import { ConcertForm } from './concert-form.js'
import { ConcertPanel } from './concert-panel.js'
import { explain } from './strings.js'
import { WebhooksSection } from './webhooks.js'

/**
 * @import { Concert, Page, Problem } from '../shared/api.js'
 * @import { Lang } from '../shared/i18n.js'
 * @import { AdminCall } from './admin-api.js'
 * @import { Strings } from './strings.js'
 */

/**
 * Every concert, one chosen for its live panel, and a form for a new one.
 * @param {{ t: Strings, lang: Lang, adminKey: string, onRefused: (problem: Problem) => void }} props
 */
export function Console({ t, lang, adminKey, onRefused }) {
  const [concerts, setConcerts] = useState(/** @type {Concert[] | undefined} */ (undefined))
  /** The concert whose panel is shown, by id. */
  const [chosen, setChosen] = useState(/** @type {string | undefined} */ (undefined))
  const [problem, setProblem] = useState(/** @type {Problem | undefined} */ (undefined))

  // Every admin call goes through here: a refused key ends the session.
  /** @type {AdminCall} */
  const admin = (method, path, options) =>
    asAdmin(adminKey, method, path, options).catch((/** @type {Problem} */ err) => {
      if (err.code === 'UNAUTHENTICATED') onRefused(err)
      throw err
    })
  const load = () =>
    /** @type {Promise<Page<Concert>>} */ (request('GET', '/v1/concerts')).then((body) => {
      setConcerts(body.items)
      return body.items
    }, setProblem)
  useEffect(() => {
    load().then((items) => items?.[0] && setChosen((c) => c ?? items[0].concertId))
  }, [])

  const concert = concerts?.find((c) => c.concertId === chosen)
  return html`
    <div class="columns">
      <aside>
        <section class="card" aria-labelledby="concerts-heading">
          <h2 id="concerts-heading">${t.concerts}</h2>
          ${concerts?.length === 0 && html`<p>${t.noConcerts}</p>`}
          <ul class="concert-list">
            ${concerts?.map(
              (c) => html`<li key=${c.concertId}>
                <button type="button" aria-pressed=${c.concertId === chosen} onClick=${() => setChosen(c.concertId)}>${c.title}</button>
              </li>`,
            )}
          </ul>
        </section>
        <${ConcertForm}
          t=${t}
          admin=${admin}
          onCreated=${async (/** @type {string} */ concertId) => {
            await load()
            setChosen(concertId)
          }}
        />
      </aside>
      <div class="panel">
        ${problem && html`<p role="alert" class="problem">${explain(t, problem)}</p>`}
        ${concert && html`<${ConcertPanel} key=${concert.concertId} t=${t} lang=${lang} concert=${concert} admin=${admin} onChanged=${load} />`}
      </div>
    </div>
    <${WebhooksSection} t=${t} lang=${lang} admin=${admin} />
  `
}
