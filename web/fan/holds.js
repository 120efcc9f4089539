import { newKey } from '../shared/api.js'
import { html, useEffect, useState } from '../shared/html.js'
import { formatWon } from '../shared/i18n.js'
import { asFan } from './session.js'
import { explain } from './strings.js'

/**
 * @import { Problem } from '../shared/api.js'
 * @import { FieldEvent } from '../shared/html.js'
 * @import { Lang } from '../shared/i18n.js'
 * @import { Strings } from './strings.js'
 */

/**
 * One of the fan's reservations, as `GET /v1/me/reservations` lists it.
 * @typedef {object} Reservation
 * @property {string} reservationId
 * @property {string} concertId
 * @property {string} scheduleId
 * @property {number} seatNo
 * @property {number} price
 * @property {'HELD' | 'CONFIRMED' | 'EXPIRED' | 'RELEASED' | 'REFUNDED'} status
 * @property {string} heldUntil
 * @property {string} createdAt
 * @property {string} startsAt when the date starts: a refund policy counts back from it
 */

/**
 * A seat just held: `POST /v1/reservations`'s answer.
 * @typedef {Pick<Reservation, 'reservationId' | 'scheduleId' | 'seatNo' | 'price' | 'heldUntil'> & { status: 'HELD' }} HeldSeat
 */

/**
 * A seat the fan holds (or held) at this concert, as the page shows it: held here, with the place
 * in line it was held in and where the seat is, or found among the fan's reservations after a reload.
 * @typedef {Omit<Reservation, 'createdAt' | 'startsAt'> & { queueToken?: string, where?: { section: string, row: number } }} Hold
 */

/**
 * `GET /v1/me/balance`: won, and whether the fan may top up here (`off` where the operator's
 * payment integration credits balances).
 * @typedef {{ userId: string, balance: number, charges: 'open' | 'off' }} Balance
 */

/** @typedef {{ chargeId: string, amount: number, balance: number }} Charge `POST /v1/me/balance/charges` */

/** @typedef {{ paymentId: string, reservationId: string, amount: number, balance: number, status: 'PAID' }} Payment `POST /v1/payments` */

const MAX_CHARGE = 100_000_000

/**
 * Time left on a hold, counted down every second; tells once it has run out.
 * @param {{ t: Strings, until: string, onExpired: () => void }} props
 */
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

/**
 * The fan's seats at this concert: each hold's countdown and Pay, the balance and its top-up,
 * where the deployment lets fans top up themselves (the balance's answer says whether).
 * @param {object} props
 * @param {Strings} props.t
 * @param {Lang} props.lang
 * @param {Hold[]} props.holds
 * @param {string | undefined} props.queueToken the place in line now, for holds found after a reload
 * @param {(reservationId: string, change: Pick<Hold, 'status'>) => void} props.onChange
 * @param {() => void} props.onPaid
 */
export function Holds({ t, lang, holds, queueToken, onChange, onPaid }) {
  const [balance, setBalance] = useState(/** @type {number | undefined} */ (undefined))
  const [charges, setCharges] = useState(/** @type {Balance['charges'] | undefined} */ (undefined))
  const [amount, setAmount] = useState('')
  const [problem, setProblem] = useState(/** @type {Problem | { code: 'VALIDATION_FAILED' } | undefined} */ (undefined))
  const [note, setNote] = useState(/** @type {string | undefined} */ (undefined))
  /** The hold being paid or released, or 'top-up'. */
  const [busy, setBusy] = useState(/** @type {string | undefined} */ (undefined))

  useEffect(() => {
    const answer = /** @type {Promise<Balance>} */ (asFan('GET', '/v1/me/balance'))
    answer.then((b) => {
      setBalance(b.balance)
      setCharges(b.charges)
    }, setProblem)
  }, [])

  /**
   * @param {string} what
   * @param {() => Promise<unknown>} work
   */
  const act = async (what, work) => {
    setBusy(what)
    setProblem(undefined)
    setNote(undefined)
    try {
      await work()
    } catch (err) {
      setProblem(/** @type {Problem} */ (err))
    } finally {
      setBusy(undefined)
    }
  }

  const topUp = (/** @type {Event} */ event) => {
    event.preventDefault()
    const value = Number(amount)
    if (!Number.isInteger(value) || value < 1 || value > MAX_CHARGE) return setProblem({ code: 'VALIDATION_FAILED' })
    return act('top-up', async () => {
      try {
        const charged = /** @type {Charge} */ (
          await asFan('POST', '/v1/me/balance/charges', { body: { amount: value }, headers: { 'idempotency-key': newKey() } })
        )
        setBalance(charged.balance)
        setAmount('')
        setNote(t.toppedUp(formatWon(lang, value)))
      } catch (err) {
        // Turned off since the page asked: the form gives way to the words saying so.
        if (/** @type {Problem} */ (err).code === 'CHARGES_DISABLED') return setCharges('off')
        throw err
      }
    })
  }

  const pay = (/** @type {Hold} */ hold) =>
    act(hold.reservationId, async () => {
      try {
        const paid = /** @type {Payment} */ (
          await asFan('POST', '/v1/payments', {
            queueToken: hold.queueToken ?? queueToken,
            body: { reservationId: hold.reservationId },
            headers: { 'idempotency-key': newKey() },
          })
        )
        setBalance(paid.balance)
        onChange(hold.reservationId, { status: 'CONFIRMED' })
        onPaid()
        setNote(t.paidNote)
      } catch (err) {
        const { code } = /** @type {Problem} */ (err)
        if (code === 'ALREADY_PAID') onChange(hold.reservationId, { status: 'CONFIRMED' })
        if (code === 'HOLD_EXPIRED') onChange(hold.reservationId, { status: 'EXPIRED' })
        if (code === 'HOLD_RELEASED') onChange(hold.reservationId, { status: 'RELEASED' })
        throw err
      }
    })

  const release = (/** @type {Hold} */ hold) =>
    act(hold.reservationId, async () => {
      await asFan('DELETE', `/v1/reservations/${hold.reservationId}`)
      onChange(hold.reservationId, { status: 'RELEASED' })
    })

  // With no top-up here, a short balance is not told to top up.
  const refusal = problem?.code === 'INSUFFICIENT_BALANCE' && charges === 'off' ? t.balanceShort : problem && explain(t, problem)
  const statusWords = { CONFIRMED: t.confirmed, EXPIRED: t.expired, RELEASED: t.released, REFUNDED: t.refunded }
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
      ${
        charges === 'open' &&
        html`<form class="top-up" onSubmit=${topUp}>
          <label>
            ${t.amount}
            <input type="number" inputmode="numeric" min="1" max=${MAX_CHARGE} step="1" value=${amount} onInput=${(/** @type {FieldEvent} */ e) => setAmount(e.currentTarget.value)} />
          </label>
          <button type="submit" disabled=${busy !== undefined}>${t.topUp}</button>
          <small>${t.amountHint}</small>
        </form>`
      }
      ${charges === 'off' && html`<p class="note">${t.topUpOff}</p>`}
      ${note && html`<p role="status" class="note">${note}</p>`}
      ${problem && html`<p role="alert" class="problem">${refusal}</p>`}
    </section>
  `
}
