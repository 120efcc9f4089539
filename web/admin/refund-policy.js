import { html } from '../shared/html.js'

/**
 * @import { RefundPolicy } from '../shared/api.js'
 * @import { FieldEvent } from '../shared/html.js'
 * @import { Strings } from './strings.js'
 */

/**
 * A refund policy as a form holds it: on or off, and the numbers as typed.
 * @typedef {{ on: boolean, hours: number | string, feePercent: number | string }} RefundPolicyFields
 */

/**
 * The form's values of a concert's policy; a concert without one starts from two days and no fee.
 * @param {RefundPolicy | null | undefined} policy
 * @returns {RefundPolicyFields}
 */
export const refundPolicyFields = (policy) =>
  policy ? { on: true, hours: policy.refundableUntilHours, feePercent: policy.feePercent } : { on: false, hours: 48, feePercent: 0 }

/**
 * The policy to send: null when fan refunds are off.
 * @param {RefundPolicyFields} fields
 * @returns {RefundPolicy | null}
 */
export const refundPolicyBody = (fields) =>
  fields.on ? { refundableUntilHours: Number(fields.hours), feePercent: Number(fields.feePercent) } : null

/**
 * The switch "Fan refunds" and, when on, until how many hours before a date fans may refund and the
 * fee kept; part of the forms that create and change a concert.
 * @param {{ t: Strings, fields: RefundPolicyFields, onChange: (fields: RefundPolicyFields) => void }} props
 */
export function RefundPolicyInputs({ t, fields, onChange }) {
  return html`<fieldset class="refund-policy">
    <legend>${t.refunds}</legend>
    <label class="check">
      <input type="checkbox" role="switch" checked=${fields.on} onChange=${(/** @type {FieldEvent} */ e) => onChange({ ...fields, on: /** @type {HTMLInputElement} */ (e.currentTarget).checked })} />
      ${t.fanRefunds}
    </label>
    ${
      fields.on
        ? html`<div class="inline">
          <label>
            ${t.refundHours}
            <input type="number" required min="0" max="8760" step="1" value=${fields.hours} onInput=${(/** @type {FieldEvent} */ e) => onChange({ ...fields, hours: e.currentTarget.value })} />
          </label>
          <label>
            ${t.refundFeePercent}
            <input type="number" required min="0" max="100" step="0.01" value=${fields.feePercent} onInput=${(/** @type {FieldEvent} */ e) => onChange({ ...fields, feePercent: e.currentTarget.value })} />
          </label>
        </div>`
        : html`<p class="note">${t.refundsOff}</p>`
    }
  </fieldset>`
}
