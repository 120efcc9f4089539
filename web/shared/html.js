// Preact components written as htm tagged templates: plain ES modules, nothing to build.
import htm from 'htm'
import { h } from 'preact'

/**
 * An input or change event of a form field, with the field it came from.
 * @typedef {import('preact').TargetedEvent<HTMLInputElement | HTMLSelectElement>} FieldEvent
 */

export const html = htm.bind(h)
export { render } from 'preact'
export { useEffect, useRef, useState } from 'preact/hooks'
