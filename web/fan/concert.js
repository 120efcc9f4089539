import { Problem } from '../shared/api.js'
import { html, useEffect, useState } from '../shared/html.js'
import { formatDate } from '../shared/i18n.js'
import { Booking } from './booking.js'
import { joinLine } from './challenge.js'
import { Holds } from './holds.js'
import { useQueueStatus, WaitingView } from './line.js'
import { ACCESS_TOKEN_KEY, asFan, keepPlace, keptPlace } from './session.js'
import { explain } from './strings.js'

/**
 * @import { Concert, Page } from '../shared/api.js'
 * @import { FieldEvent } from '../shared/html.js'
 * @import { Lang } from '../shared/i18n.js'
 * @import { Hold, Reservation } from './holds.js'
 * @import { OnEnded, QueueStatus } from './line.js'
 * @import { Place } from './session.js'
 * @import { Strings } from './strings.js'
 */

/**
 * Whether the concert is in its presale now: until its sale opens, joining needs a presale code.
 * @param {Concert} concert
 * @returns {concert is Concert & { presaleOpensAt: string, saleOpensAt: string }}
 */
const inPresale = (concert) =>
  concert.presaleOpensAt !== null && concert.saleOpensAt !== null && Date.now() < Date.parse(concert.saleOpensAt)

/**
 * One concert: join its line (with a presale code during its presale), wait, and once admitted
 * pick a date and a seat. The place in line (its token) is kept in localStorage, so a reload comes
 * straight back to it.
 * @param {{ t: Strings, lang: Lang, concert: Concert }} props
 */
export function ConcertPage({ t, lang, concert }) {
  const { concertId } = concert
  const [place, setPlace] = useState(() => keptPlace(concertId))
  /** Why the place in line ended, in words. */
  const [ended, setEnded] = useState(/** @type {string | undefined} */ (undefined))
  const [problem, setProblem] = useState(/** @type {Problem | undefined} */ (undefined))
  const [joining, setJoining] = useState(false)
  const [progress, setProgress] = useState(/** @type {number | undefined} */ (undefined))
  const [code, setCode] = useState('')
  const [holds, setHolds] = useState(/** @type {Hold[]} */ ([]))
  const [paid, setPaid] = useState(false)

  // Seats this fan already holds here (after a reload), if the fan has signed up before.
  useEffect(() => {
    if (!localStorage.getItem(ACCESS_TOKEN_KEY)) return
    const answer = /** @type {Promise<Page<Reservation>>} */ (asFan('GET', '/v1/me/reservations'))
    answer.then(
      ({ items }) => setHolds(items.filter((r) => r.concertId === concertId && r.status === 'HELD')),
      () => undefined,
    )
  }, [concertId])

  const leaveLine = (/** @type {string} */ why) => {
    keepPlace(concertId, null)
    setPlace(null)
    setEnded(why)
  }

  // The server says when a code is needed (the page's clock may be off); a refused code keeps the field.
  const askCode = inPresale(concert) || problem?.code?.startsWith('PRESALE_CODE_')
  const withCode = (/** @type {{ altcha: string } | undefined} */ body) => (askCode && code.trim() ? { ...body, code: code.trim() } : body)

  const join = async (/** @type {Event} */ event) => {
    event.preventDefault()
    setJoining(true)
    setProblem(undefined)
    setEnded(undefined)
    try {
      const status = await joinLine(
        concert,
        (body) => /** @type {Promise<QueueStatus>} */ (asFan('POST', `/v1/concerts/${concertId}/queue`, { body: withCode(body) })),
        setProgress,
      )
      const kept = { token: status.token, first: status.position || null, status }
      keepPlace(concertId, { token: kept.token, first: kept.first })
      setPlace(kept)
    } catch (err) {
      setProblem(/** @type {Problem} */ (err))
    } finally {
      setJoining(false)
      setProgress(undefined)
    }
  }

  const opensAt = concert.queueOpensAt
  const opensLater = opensAt && Date.parse(opensAt) > Date.now()
  return html`
    <p><a href="#/">${t.backToConcerts}</a></p>
    <h1>${concert.title}</h1>
    <p>${concert.performer} · ${concert.venue}</p>
    ${concert.soldOut && html`<p class="badge">${t.soldOut}</p>`}
    ${
      !place &&
      html`
      ${opensLater && html`<p>${t.lineOpens(formatDate(lang, opensAt))}</p>`}
      ${inPresale(concert) && html`<p>${t.presale(formatDate(lang, concert.presaleOpensAt), formatDate(lang, concert.saleOpensAt))}</p>`}
      ${ended && html`<p role="alert" class="problem">${ended}</p>`}
      <form class="join" onSubmit=${join}>
        ${
          askCode &&
          html`<label>
          ${t.presaleCode}
          <input value=${code} maxlength="64" autocomplete="off" autocapitalize="characters" spellcheck="false" onInput=${(/** @type {FieldEvent} */ e) => setCode(e.currentTarget.value)} />
        </label>`
        }
        <button type="submit" class="primary" disabled=${joining || concert.soldOut}>${t.joinQueue}</button>
      </form>
      ${joining && progress === undefined && html`<p>${t.joining}</p>`}
      ${
        progress !== undefined &&
        html`<div class="challenge">
        <label>${t.challenge} <progress max="1" value=${progress}></progress></label>
        <p>${t.challengeProgress(Math.round(progress * 100))}</p>
      </div>`
      }
    `
    }
    ${problem && html`<p role="alert" class="problem">${explain(t, problem)}</p>`}
    ${
      place &&
      html`<${InLine}
      key=${place.token}
      t=${t}
      lang=${lang}
      concertId=${concertId}
      presale=${Boolean(concert.presaleOpensAt)}
      place=${place}
      onEnded=${(/** @type {QueueStatus | Problem} */ last, /** @type {boolean} */ wasActive) =>
        leaveLine(
          paid ? t.paidEnded : wasActive || (last instanceof Problem && last.code === 'QUEUE_TOKEN_EXPIRED') ? t.turnEnded : t.placeLapsed,
        )}
      onHeld=${(/** @type {Hold} */ hold) => setHolds((hs) => [...hs, hold])}
    />`
    }
    ${
      holds.length > 0 &&
      html`<${Holds}
      t=${t}
      lang=${lang}
      holds=${holds}
      queueToken=${place?.token}
      onChange=${(/** @type {string} */ reservationId, /** @type {Pick<Hold, 'status'>} */ change) => setHolds((hs) => hs.map((h) => (h.reservationId === reservationId ? { ...h, ...change } : h)))}
      onPaid=${() => setPaid(true)}
    />`
    }
  `
}

/**
 * In line: the waiting view while waiting, the booking once admitted.
 * @param {{ t: Strings, lang: Lang, concertId: string, presale: boolean, place: Place, onEnded: OnEnded, onHeld: (hold: Hold) => void }} props
 */
function InLine({ t, lang, concertId, presale, place, onEnded, onHeld }) {
  const [first, setFirst] = useState(place.first)
  const { status, trouble } = useQueueStatus(place.token, place.status, onEnded)
  // Progress counts from the first place seen (after a pre-queue, the drawn one).
  useEffect(() => {
    const position = status?.position ?? 0
    if (!first && position > 0) {
      setFirst(position)
      keepPlace(concertId, { token: place.token, first: position })
    }
  }, [status?.position])

  if (status?.status !== 'ACTIVE') {
    return html`<${WaitingView} t=${t} lang=${lang} status=${status} first=${first} trouble=${trouble} presale=${presale} />`
  }
  return html`
    <div role="status" class="place"><strong>${t.yourTurn}</strong></div>
    <${Booking} t=${t} lang=${lang} concertId=${concertId} queueToken=${place.token} onHeld=${onHeld} onEnded=${onEnded} />
  `
}
