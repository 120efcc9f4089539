import { request } from '../shared/api.js'
import { html, useEffect, useState } from '../shared/html.js'
import { formatDate } from '../shared/i18n.js'
import { explain } from './strings.js'
import { webhookStrings } from './webhook-strings.js'

/**
 * @import { Page, Problem } from '../shared/api.js'
 * @import { FieldEvent } from '../shared/html.js'
 * @import { Lang } from '../shared/i18n.js'
 * @import { AdminCall } from './admin-api.js'
 * @import { Strings } from './strings.js'
 * @import { WebhookStrings } from './webhook-strings.js'
 */

/**
 * An endpoint, as `GET /v1/admin/webhooks` lists it.
 * @typedef {object} Webhook
 * @property {string} webhookId
 * @property {string} url
 * @property {string[]} events event types, or `*` for every type
 * @property {string | null} description
 * @property {string} createdAt
 */

/** @typedef {Webhook & { secret: string }} CreatedWebhook an endpoint just added, with its secret: shown only then */

/**
 * One event's delivery to an endpoint, as `GET /v1/admin/webhooks/{id}/deliveries` lists it.
 * @typedef {object} Delivery
 * @property {string} eventId
 * @property {string} type
 * @property {number} sequence
 * @property {number} attempts
 * @property {'pending' | 'delivered' | 'failed'} status
 * @property {number | null} lastResponseStatus
 * @property {string | null} lastResponseBody
 * @property {string | null} lastError why the last attempt got no answer
 * @property {string | null} lastAttemptAt
 * @property {string | null} nextAttemptAt null once delivered or failed
 */

/** The open delivery log refreshes this often. */
const REFRESH_MS = 2000
/** Deliveries shown: the newest. */
const SHOWN_DELIVERIES = 50

/** A time to the second: deliveries are retried seconds apart. */
/** @type {(lang: Lang, iso: string | null) => string} */
const formatTime = (lang, iso) =>
  iso ? new Intl.DateTimeFormat(lang === 'ko' ? 'ko-KR' : 'en-GB', { dateStyle: 'short', timeStyle: 'medium' }).format(new Date(iso)) : '—'

/**
 * A refusal in words; a refused URL with the service's reason.
 * @param {{ t: Strings, w: WebhookStrings, problem: Problem | undefined }} props
 */
function Refusal({ t, w, problem }) {
  if (!problem) return null
  const words = problem.field === 'url' ? w.refusedUrl(problem.message.replace(/^url: /, '')) : explain(t, problem)
  return html`<p role="alert" class="problem">${words}</p>`
}

/** The event types the service publishes: the `webhooks` of its OpenAPI document, in its order. */
function useEventTypes() {
  const [types, setTypes] = useState(/** @type {string[]} */ ([]))
  useEffect(() => {
    const answer = /** @type {Promise<{ webhooks?: Record<string, unknown> }>} */ (request('GET', '/openapi.json'))
    answer.then(
      (doc) => setTypes(Object.keys(doc.webhooks ?? {})),
      () => setTypes([]),
    )
  }, [])
  return types
}

/**
 * A new endpoint: its URL, every event or a pick of types, a description.
 * @param {{ t: Strings, w: WebhookStrings, admin: AdminCall, onCreated: (created: CreatedWebhook) => void }} props
 */
function WebhookForm({ t, w, admin, onCreated }) {
  const types = useEventTypes()
  const [url, setUrl] = useState('')
  const [description, setDescription] = useState('')
  const [every, setEvery] = useState(true)
  const [picked, setPicked] = useState(/** @type {string[]} */ ([]))
  const [problem, setProblem] = useState(/** @type {Problem | { code: 'PICK_ONE' } | undefined} */ (undefined))
  const [busy, setBusy] = useState(false)

  const toggle = (/** @type {string} */ type) => setPicked((p) => (p.includes(type) ? p.filter((x) => x !== type) : [...p, type]))
  const submit = async (/** @type {Event} */ event) => {
    event.preventDefault()
    setProblem(undefined)
    if (!every && picked.length === 0) return setProblem({ code: 'PICK_ONE' })
    /** @type {{ url: string, events: string[], description?: string }} */
    const body = { url, events: every ? ['*'] : types.filter((x) => picked.includes(x)) }
    if (description) body.description = description
    setBusy(true)
    try {
      const created = /** @type {CreatedWebhook} */ (await admin('POST', '/v1/admin/webhooks', { body }))
      setUrl('')
      setDescription('')
      setPicked([])
      setEvery(true)
      onCreated(created)
    } catch (err) {
      setProblem(/** @type {Problem} */ (err))
    } finally {
      setBusy(false)
    }
  }
  return html`
    <form class="stack" onSubmit=${submit} aria-labelledby="new-webhook-heading">
      <h3 id="new-webhook-heading">${w.newWebhook}</h3>
      <label>
        ${w.url}
        <input type="url" required maxlength="2048" placeholder="https://" value=${url} onInput=${(/** @type {FieldEvent} */ e) => setUrl(e.currentTarget.value)} />
      </label>
      <fieldset>
        <legend>${w.events}</legend>
        <label class="check"><input type="radio" name="webhook-events" checked=${every} onChange=${() => setEvery(true)} /> ${w.everyEvent}</label>
        <label class="check"><input type="radio" name="webhook-events" checked=${!every} onChange=${() => setEvery(false)} /> ${w.chosenEvents}</label>
        ${
          !every &&
          html`<div class="event-types">
            ${types.map(
              (type) =>
                html`<label class="check" key=${type}>
                  <input type="checkbox" checked=${picked.includes(type)} onChange=${() => toggle(type)} /> <code>${type}</code>
                </label>`,
            )}
          </div>`
        }
      </fieldset>
      <label>
        ${w.description}
        <input type="text" maxlength="200" value=${description} onInput=${(/** @type {FieldEvent} */ e) => setDescription(e.currentTarget.value)} />
      </label>
      <button type="submit" class="primary" disabled=${busy}>${w.addWebhook}</button>
      ${problem?.code === 'PICK_ONE' ? html`<p role="alert" class="problem">${w.pickOne}</p>` : html`<${Refusal} t=${t} w=${w} problem=${problem} />`}
    </form>
  `
}

/**
 * The secret of the endpoint just made, shown this once, with a way to copy it.
 * @param {{ w: WebhookStrings, created: CreatedWebhook, onDone: () => void }} props
 */
function SecretOnce({ w, created, onDone }) {
  const [note, setNote] = useState(/** @type {string | undefined} */ (undefined))
  const copy = () =>
    navigator.clipboard.writeText(created.secret).then(
      () => setNote(w.copied),
      () => setNote(w.copyFailed),
    )
  return html`
    <div class="secret" role="status">
      <p><strong>${w.secretTitle}</strong> · ${created.url}</p>
      <p><code class="secret-value">${created.secret}</code></p>
      <p class="note">${w.secretNote}</p>
      <button type="button" onClick=${copy}>${w.copy}</button>
      <button type="button" onClick=${onDone}>${w.done}</button>
      ${note && html`<p class="note">${note}</p>`}
    </div>
  `
}

/**
 * One endpoint's recent deliveries, refreshed while shown, each with a Retry button.
 * @param {{ t: Strings, w: WebhookStrings, lang: Lang, webhook: Webhook, admin: AdminCall }} props
 */
function Deliveries({ t, w, lang, webhook, admin }) {
  const [items, setItems] = useState(/** @type {Delivery[] | undefined} */ (undefined))
  const [problem, setProblem] = useState(/** @type {Problem | undefined} */ (undefined))
  const [note, setNote] = useState(/** @type {string | undefined} */ (undefined))
  const path = `/v1/admin/webhooks/${webhook.webhookId}/deliveries`
  const load = () =>
    /** @type {Promise<Page<Delivery>>} */ (admin('GET', `${path}?limit=${SHOWN_DELIVERIES}`)).then(
      (body) => {
        setItems(body.items)
        setProblem(undefined)
      },
      (err) => setProblem(err),
    )
  useEffect(() => {
    /** @type {number | undefined} */
    let timer
    let stopped = false
    const refresh = async () => {
      await load()
      if (!stopped) timer = setTimeout(refresh, REFRESH_MS)
    }
    refresh()
    return () => {
      stopped = true
      clearTimeout(timer)
    }
  }, [webhook.webhookId])

  const retry = async (/** @type {string} */ eventId) => {
    setNote(undefined)
    try {
      await admin('POST', `${path}/${eventId}/retry`)
      setNote(w.retried(eventId))
      await load()
    } catch (err) {
      setProblem(/** @type {Problem} */ (err))
    }
  }
  const answer = (/** @type {Delivery} */ d) =>
    d.lastResponseStatus !== null ? String(d.lastResponseStatus) : d.attempts > 0 ? w.noAnswer(d.lastError) : '—'
  return html`
    <section aria-labelledby="deliveries-heading">
      <h3 id="deliveries-heading">${w.deliveries(webhook.url)}</h3>
      <${Refusal} t=${t} w=${w} problem=${problem} />
      ${note && html`<p role="status" class="note">${note}</p>`}
      ${items?.length === 0 && html`<p>${w.noDeliveries}</p>`}
      ${
        items !== undefined &&
        items.length > 0 &&
        html`<div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">${w.eventId}</th>
                <th scope="col">${w.type}</th>
                <th scope="col">${w.attempts}</th>
                <th scope="col">${w.status}</th>
                <th scope="col">${w.lastResponse}</th>
                <th scope="col">${w.lastAttempt}</th>
                <th scope="col">${w.nextAttempt}</th>
                <th scope="col"><span class="visually-hidden">${w.retry('')}</span></th>
              </tr>
            </thead>
            <tbody>
              ${items.map(
                (d) => html`<tr key=${d.eventId}>
                  <th scope="row"><code>${d.eventId}</code></th>
                  <td><code>${d.type}</code></td>
                  <td>${d.attempts}</td>
                  <td class=${`delivery-${d.status}`}>${w.statuses[d.status]}</td>
                  <td>${answer(d)}</td>
                  <td>${formatTime(lang, d.lastAttemptAt)}</td>
                  <td>${formatTime(lang, d.nextAttemptAt)}</td>
                  <td><button type="button" aria-label=${w.retry(d.eventId)} onClick=${() => retry(d.eventId)}>↻</button></td>
                </tr>`,
              )}
            </tbody>
          </table>
        </div>`
      }
    </section>
  `
}

/**
 * The webhook endpoints: listed, added (the secret shown once), removed after a confirmation, and one's deliveries.
 * @param {{ t: Strings, lang: Lang, admin: AdminCall }} props
 */
export function WebhooksSection({ t, lang, admin }) {
  const w = webhookStrings[lang]
  const [webhooks, setWebhooks] = useState(/** @type {Webhook[] | undefined} */ (undefined))
  /** The endpoint whose deliveries are shown, by id. */
  const [chosen, setChosen] = useState(/** @type {string | undefined} */ (undefined))
  const [created, setCreated] = useState(/** @type {CreatedWebhook | undefined} */ (undefined))
  /** The endpoint asking whether to remove it, by id. */
  const [removing, setRemoving] = useState(/** @type {string | undefined} */ (undefined))
  const [problem, setProblem] = useState(/** @type {Problem | undefined} */ (undefined))

  const load = () =>
    /** @type {Promise<Page<Webhook>>} */ (admin('GET', '/v1/admin/webhooks')).then((body) => setWebhooks(body.items), setProblem)
  useEffect(() => {
    load()
  }, [])

  const remove = async (/** @type {string} */ webhookId) => {
    setProblem(undefined)
    try {
      await admin('DELETE', `/v1/admin/webhooks/${webhookId}`)
      if (chosen === webhookId) setChosen(undefined)
      if (created?.webhookId === webhookId) setCreated(undefined)
    } catch (err) {
      setProblem(/** @type {Problem} */ (err))
    }
    setRemoving(undefined)
    await load()
  }
  const shown = webhooks?.find((x) => x.webhookId === chosen)
  return html`
    <section class="card webhooks" aria-labelledby="webhooks-heading">
      <h2 id="webhooks-heading">${w.webhooks}</h2>
      <${Refusal} t=${t} w=${w} problem=${problem} />
      ${webhooks?.length === 0 && html`<p>${w.noWebhooks}</p>`}
      ${
        webhooks !== undefined &&
        webhooks.length > 0 &&
        html`<div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">${w.url}</th>
                <th scope="col">${w.events}</th>
                <th scope="col">${w.description}</th>
                <th scope="col">${w.createdAt}</th>
                <th scope="col"><span class="visually-hidden">${w.remove('')}</span></th>
              </tr>
            </thead>
            <tbody>
              ${webhooks.map(
                (x) => html`<tr key=${x.webhookId}>
                  <th scope="row">
                    <button type="button" class="link" aria-pressed=${x.webhookId === chosen} aria-label=${w.showDeliveries(x.url)} onClick=${() => setChosen(x.webhookId)}>
                      ${x.url}
                    </button>
                  </th>
                  <td>${x.events.map((e) => html`<code key=${e}>${e}</code> `)}</td>
                  <td>${x.description ?? ''}</td>
                  <td>${formatDate(lang, x.createdAt)}</td>
                  <td>
                    ${
                      removing === x.webhookId
                        ? html`<div role="group" aria-label=${w.confirmRemove(x.url)}>
                            <p>${w.confirmRemove(x.url)}</p>
                            <button type="button" class="danger" onClick=${() => remove(x.webhookId)}>${w.confirm}</button>
                            <button type="button" onClick=${() => setRemoving(undefined)}>${w.keep}</button>
                          </div>`
                        : html`<button type="button" aria-label=${w.remove(x.url)} onClick=${() => setRemoving(x.webhookId)}>✕</button>`
                    }
                  </td>
                </tr>`,
              )}
            </tbody>
          </table>
        </div>`
      }
      ${created && html`<${SecretOnce} w=${w} created=${created} onDone=${() => setCreated(undefined)} />`}
      ${shown && html`<${Deliveries} key=${shown.webhookId} t=${t} w=${w} lang=${lang} webhook=${shown} admin=${admin} />`}
      <${WebhookForm}
        t=${t}
        w=${w}
        admin=${admin}
        onCreated=${async (/** @type {CreatedWebhook} */ made) => {
          setCreated(made)
          await load()
          setChosen(made.webhookId)
        }}
      />
    </section>
  `
}
