// Preact components written as htm tagged templates: plain ES modules, nothing to build.
import htm from 'htm'
import { h } from 'preact'

export const html = htm.bind(h)
export { render } from 'preact'
export { useEffect, useRef, useState } from 'preact/hooks'
