import { newKey } from '../shared/api.js'
import { html, useEffect, useState } from '../shared/html.js'
import { formatWon } from '../shared/i18n.js'
import { asFan } from './session.js'
import { explain } from './strings.js'

const MAX_CHARGE = 100_000_000

/** Time left on a hold, counted down every second; tells once it has run out. */
function Countdown({ t, until, onExpired }) {
  const [now, setNow] = useState(Date.now())
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), 1000)
    return () => clearInterval(id)
  }, [])
  const left = Math.max(0, Math.ceil((Date.parse(until) - now) / 1000))
  useEffect(() => {
    if (left === 0) onExpired()
  }, [left === 0])
  const text = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`
  return html`<span class="timer">${t.timeLeft}: <span role="timer" aria-label=${t.timeLeft}>${text}</span></span>`
}

/** The fan's seats at this concert: each hold's countdown and Pay, the balance and its top-up. */
export function Holds({ t, lang, holds, queueToken, onChange, onPaid }) {
  const [balance, setBalance] = useState()
  const [amount, setAmount] = useState('')
  const [problem, setProblem] = useState()
  const [note, setNote] = useState()
  const [busy, setBusy] = useState()

  useEffect(() => {
    asFan('GET', '/v1/me/balance').then((b) => setBalance(b.balance), setProblem)
  }, [])

  const act = async (what, work) => {
    setBusy(what)
    setProblem(undefined)
    setNote(undefined)
    try {
      await work()
    } catch (err) {
      setProblem(err)
    } finally {
      setBusy(undefined)
    }
  }

  const topUp = (event) => {
    event.preventDefault()
    const value = Number(amount)
    if (!Number.isInteger(value) || value < 1 || value > MAX_CHARGE) return setProblem({ code: 'VALIDATION_FAILED' })
    return act('top-up', async () => {
      const charged = await asFan('POST', '/v1/me/balance/charges', { body: { amount: value }, headers: { 'idempotency-key': newKey() } })
      setBalance(charged.balance)
      setAmount('')
      setNote(t.toppedUp(formatWon(lang, value)))
    })
  }

  const pay = (hold) =>
    act(hold.reservationId, async () => {
      try {
        const paid = await asFan('POST', '/v1/payments', {
          queueToken: hold.queueToken ?? queueToken,
          body: { reservationId: hold.reservationId },
          headers: { 'idempotency-key': newKey() },
        })
        setBalance(paid.balance)
        onChange(hold.reservationId, { status: 'CONFIRMED' })
        onPaid()
        setNote(t.paidNote)
      } catch (err) {
        if (err.code === 'ALREADY_PAID') onChange(hold.reservationId, { status: 'CONFIRMED' })
        if (err.code === 'HOLD_EXPIRED') onChange(hold.reservationId, { status: 'EXPIRED' })
        if (err.code === 'HOLD_RELEASED') onChange(hold.reservationId, { status: 'RELEASED' })
        throw err
      }
    })

  const release = (hold) =>
    act(hold.reservationId, async () => {
      await asFan('DELETE', `/v1/reservations/${hold.reservationId}`)
      onChange(hold.reservationId, { status: 'RELEASED' })
    })

  const statusWords = { CONFIRMED: t.confirmed, EXPIRED: t.expired, RELEASED: t.released }
  return html`
    <section aria-labelledby="holds-heading" class="holds">
      <h2 id="holds-heading">${t.yourHolds}</h2>
      <ul>
        ${holds.map(
          (hold) => html`<li key=${hold.reservationId} class=${hold.status.toLowerCase()}>
            <p>
              <strong>${t.seat(hold.seatNo)}</strong>
              ${hold.where && ` · ${t.seatWhere(hold.where.section, hold.where.row)}`} · ${formatWon(lang, hold.price)}
            </p>
            ${
              hold.status === 'HELD'
                ? html`<${Countdown} t=${t} until=${hold.heldUntil} onExpired=${() => onChange(hold.reservationId, { status: 'EXPIRED' })} />
                  <div class="actions">
                    <button type="button" class="primary" onClick=${() => pay(hold)} disabled=${busy !== undefined}>${t.pay}</button>
                    <button type="button" onClick=${() => release(hold)} disabled=${busy !== undefined}>${t.release}</button>
                  </div>`
                : html`<p class=${`state ${hold.status.toLowerCase()}`}>${statusWords[hold.status]}</p>`
            }
          </li>`,
        )}
      </ul>
      <p>${balance !== undefined && t.balance(formatWon(lang, balance))}</p>
      <form class="top-up" onSubmit=${topUp}>
        <label>
          ${t.amount}
          <input type="number" inputmode="numeric" min="1" max=${MAX_CHARGE} step="1" value=${amount} onInput=${(e) => setAmount(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled=${busy !== undefined}>${t.topUp}</button>
        <small>${t.amountHint}</small>
      </form>
      ${note && html`<p role="status" class="note">${note}</p>`}
      ${problem && html`<p role="alert" class="problem">${explain(t, problem)}</p>`}
    </section>
  `
}
