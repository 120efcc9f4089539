import { html, useEffect, useState } from '../shared/html.js'
import { formatDate } from '../shared/i18n.js'
import { Booking } from './booking.js'
import { joinLine } from './challenge.js'
import { Holds } from './holds.js'
import { useQueueStatus, WaitingView } from './line.js'
import { ACCESS_TOKEN_KEY, asFan, keepPlace, keptPlace } from './session.js'
import { explain } from './strings.js'

/**
 * One concert: join its line, wait, and once admitted pick a date and a seat. The place in line
 * (its token) is kept in localStorage, so a reload comes straight back to it.
 */
export function ConcertPage({ t, lang, concert }) {
  const { concertId } = concert
  const [place, setPlace] = useState(() => keptPlace(concertId))
  const [ended, setEnded] = useState()
  const [problem, setProblem] = useState()
  const [joining, setJoining] = useState(false)
  const [progress, setProgress] = useState()
  const [holds, setHolds] = useState([])
  const [paid, setPaid] = useState(false)

  // Seats this fan already holds here (after a reload), if the fan has signed up before.
  useEffect(() => {
    if (!localStorage.getItem(ACCESS_TOKEN_KEY)) return
    asFan('GET', '/v1/me/reservations').then(
      ({ items }) => setHolds(items.filter((r) => r.concertId === concertId && r.status === 'HELD')),
      () => undefined,
    )
  }, [concertId])

  const leaveLine = (why) => {
    keepPlace(concertId, null)
    setPlace(null)
    setEnded(why)
  }

  const join = async () => {
    setJoining(true)
    setProblem(undefined)
    setEnded(undefined)
    try {
      const status = await joinLine(concert, (body) => asFan('POST', `/v1/concerts/${concertId}/queue`, { body }), setProgress)
      const kept = { token: status.token, first: status.position || null, status }
      keepPlace(concertId, { token: kept.token, first: kept.first })
      setPlace(kept)
    } catch (err) {
      setProblem(err)
    } finally {
      setJoining(false)
      setProgress(undefined)
    }
  }

  const opensLater = concert.queueOpensAt && Date.parse(concert.queueOpensAt) > Date.now()
  return html`
    <p><a href="#/">${t.backToConcerts}</a></p>
    <h1>${concert.title}</h1>
    <p>${concert.performer} · ${concert.venue}</p>
    ${concert.soldOut && html`<p class="badge">${t.soldOut}</p>`}
    ${
      !place &&
      html`
      ${opensLater && html`<p>${t.lineOpens(formatDate(lang, concert.queueOpensAt))}</p>`}
      ${ended && html`<p role="alert" class="problem">${ended}</p>`}
      <button type="button" class="primary" onClick=${join} disabled=${joining || concert.soldOut}>${t.joinQueue}</button>
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
      place=${place}
      onEnded=${(last, wasActive) => leaveLine(paid ? t.paidEnded : wasActive || last?.code === 'QUEUE_TOKEN_EXPIRED' ? t.turnEnded : t.placeLapsed)}
      onHeld=${(hold) => setHolds((hs) => [...hs, hold])}
    />`
    }
    ${
      holds.length > 0 &&
      html`<${Holds}
      t=${t}
      lang=${lang}
      holds=${holds}
      queueToken=${place?.token}
      onChange=${(reservationId, change) => setHolds((hs) => hs.map((h) => (h.reservationId === reservationId ? { ...h, ...change } : h)))}
      onPaid=${() => setPaid(true)}
    />`
    }
  `
}

/** In line: the waiting view while waiting, the booking once admitted. */
function InLine({ t, lang, concertId, place, onEnded, onHeld }) {
  const [first, setFirst] = useState(place.first)
  const { status, trouble } = useQueueStatus(place.token, place.status, onEnded)
  // Progress counts from the first place seen (after a pre-queue, the drawn one).
  useEffect(() => {
    if (!first && status?.position > 0) {
      setFirst(status.position)
      keepPlace(concertId, { token: place.token, first: status.position })
    }
  }, [status?.position])

  if (status?.status !== 'ACTIVE') return html`<${WaitingView} t=${t} lang=${lang} status=${status} first=${first} trouble=${trouble} />`
  return html`
    <div role="status" class="place"><strong>${t.yourTurn}</strong></div>
    <${Booking} t=${t} lang=${lang} concertId=${concertId} queueToken=${place.token} onHeld=${onHeld} onEnded=${onEnded} />
  `
}
