// Every word the fan pages show, in English and Korean. Accessible names that people and tests
// find controls by are marked: they must stay exactly as they are.

/** @import { Refusal } from '../shared/api.js' */

const en = {
  siteName: 'stagedoor',
  concerts: 'Concerts',
  myTickets: 'My tickets', // accessible name
  loading: 'Loading…',
  soldOut: 'Sold out',
  backToConcerts: 'All concerts',
  lineOpens: (/** @type {string} */ when) => `The line opens ${when}.`,
  saleOpens: (/** @type {string} */ when) => `Sale opens ${when}.`,
  presaleFrom: (/** @type {string} */ when) => `Presale with a code from ${when}.`,
  joinQueue: 'Join the queue', // accessible name
  joining: 'Joining…',
  presale: (/** @type {string} */ from, /** @type {string} */ sale) =>
    `Presale from ${from}: until the general sale opens ${sale}, joining needs a presale code.`,
  presaleCode: 'Presale code', // accessible name of the code field
  preQueuePresale: 'You are in the line before the presale. Places are drawn at random when the presale opens.',
  presaleIn: (/** @type {string} */ eta) => `Presale opens in ${eta}.`,
  challenge: 'Checking this is a browser, not a bot',
  challengeProgress: (/** @type {number} */ pct) => `about ${pct}% of the expected work done`,
  placeInLine: (/** @type {string} */ n) => `You are number ${n} in line`,
  preQueue: 'You are in the line before the sale. Places are drawn at random when the sale opens.',
  saleIn: (/** @type {string} */ eta) => `Sale opens in ${eta}.`,
  eta: (/** @type {string} */ eta) => `Estimated wait: ${eta}.`,
  etaUnderMinute: 'less than a minute',
  etaMinutes: (/** @type {number} */ m) => `about ${m} min`,
  etaHours: (/** @type {number} */ h, /** @type {number} */ m) => `about ${h} h ${m} min`,
  progressLabel: 'Progress in line',
  keepOpen: 'Keep this page open — reloading keeps your place.',
  seatsLeft: (/** @type {string} */ n) => `${n} seats left`,
  soldOutWaiting: 'Sold out right now. You keep your place: if seats come back, the line moves again.',
  yourTurn: 'It is your turn. Pick a date and a seat.',
  turnEnded: 'Your turn has ended. Join the queue again to buy more.',
  placeLapsed: 'Your place in line has lapsed. Join the queue again.',
  paidEnded: 'Your payment ended your turn in line.',
  connectionTrouble: 'Connection trouble: still trying…',
  dates: 'Dates', // accessible name of the dates region
  dateOption: (/** @type {string} */ when, /** @type {string} */ left, /** @type {string} */ total) =>
    `${when} — ${left} of ${total} seats left`,
  noDates: 'No dates are on sale.',
  seatMap: 'Seat map',
  seat: (/** @type {number} */ n) => `Seat ${n}`, // accessible name of a seat button
  seatWhere: (/** @type {string} */ section, /** @type {number} */ row) => `${section}, row ${row}`,
  holdSeat: 'Hold seat', // accessible name
  holding: 'Holding…',
  pickSeat: 'Pick a free seat.',
  legendFree: 'free',
  legendTaken: 'taken',
  legendChosen: 'chosen',
  zoomIn: 'Zoom in',
  zoomOut: 'Zoom out',
  section: 'Section',
  row: 'Row',
  seatInRow: 'Seat',
  choose: 'Choose',
  bestAvailable: 'Best available',
  noneAvailable: 'No free seat is left on this date.',
  seatTakenHere: 'That seat is taken. Pick another one.',
  canvasLabel: (/** @type {string} */ n) => `Seat map of ${n} seats. Use the picker below to choose a seat.`,
  yourHolds: 'Your seats',
  timeLeft: 'Time left to pay',
  expired: 'Expired',
  confirmed: 'Confirmed', // what a paid seat says
  released: 'Released',
  held: 'Held',
  balance: (/** @type {string} */ amount) => `Balance: ${amount}`,
  amount: 'Amount', // accessible name of the top-up field
  topUp: 'Top up', // accessible name
  toppedUp: (/** @type {string} */ amount) => `Added ${amount}.`,
  amountHint: 'Whole won, from 1 to 100,000,000.',
  topUpOff: 'Top-up is not available here: your balance is credited once this site confirms a payment you made.',
  balanceShort: 'Your balance does not cover this seat.',
  pay: 'Pay', // accessible name
  paying: 'Paying…',
  release: 'Release',
  paidNote: 'Paid. Your tickets are under My tickets.',
  noTickets: 'You have no tickets yet.',
  ticketLine: (/** @type {string} */ title, /** @type {number} */ seat) => `${title} — seat ${seat}`,
  refund: 'Refund', // accessible name
  refundTerms: (/** @type {number} */ hours, /** @type {string} */ fee) =>
    hours === 0
      ? `Refundable until the date starts, less a ${fee} fee.`
      : `Refundable until ${hours} hours before the date, less a ${fee} fee.`,
  refundQuestion: 'Refund this ticket? The seat goes back on sale.',
  refundBack: 'Back to your balance',
  refundFee: 'Fee',
  confirmRefund: 'Confirm refund', // accessible name
  keepTicket: 'Keep ticket', // accessible name
  refunding: 'Refunding…',
  refunded: 'Refunded', // what a refunded ticket says
  refundedAmount: (/** @type {string} */ amount) => `${amount} went back to your balance.`,
  noRefunds: 'No refunds for this concert.',
  refundsClosed: (/** @type {string} */ when) => `Refunds for this date closed at ${when}.`,
  language: 'Language',
  signInFirst: 'Sign in first: this site uses its own sign-in.',
  errors: {
    SEAT_UNAVAILABLE: 'Someone else just took that seat. Pick another one.',
    HOLD_LIMIT_REACHED: 'You already hold as many seats as one person may on this date. Pay for or release one first.',
    TICKET_LIMIT: 'You have reached the most tickets one person may buy for this concert.',
    HOLD_EXPIRED: 'Your hold ran out and the seat went back on sale. Pick a seat again.',
    HOLD_RELEASED: 'That hold was released. Pick a seat again.',
    ALREADY_PAID: 'That seat is already paid for.',
    INSUFFICIENT_BALANCE: 'Your balance does not cover this seat. Top up first.',
    SOLD_OUT: 'Sold out: every seat has been sold.',
    SCHEDULE_CLOSED: 'This date has started and is no longer on sale.',
    SCHEDULE_CANCELLED: 'This date is cancelled: every paid seat is refunded in full, with no fee.',
    REFUND_NOT_ALLOWED: 'No refunds for this concert.',
    NOT_PAID: 'Only a paid seat can be refunded.',
    ALREADY_REFUNDED: 'This ticket is already refunded.',
    RATE_LIMITED: (/** @type {number} */ s) => `Too many tries in a short time. Try again in ${s} seconds.`,
    QUEUE_NOT_OPEN: 'The line has not opened yet. Come back when it opens.',
    QUEUE_TOKEN_EXPIRED: 'Your turn has ended. Join the queue again.',
    QUEUE_TOKEN_INVALID: 'Your place in line is no longer valid. Join the queue again.',
    QUEUE_NOT_ADMITTED: 'It is not your turn yet: you are still in line.',
    CHALLENGE_FAILED: 'The browser check did not pass. Please try again.',
    CHALLENGE_REQUIRED: 'A browser check is needed to join. Please try again.',
    PRESALE_CODE_REQUIRED: 'This is the presale: enter your presale code to join.',
    PRESALE_CODE_INVALID: 'That is not a presale code for this concert. Check it and try again.',
    PRESALE_CODE_USED: 'That presale code has already been used by someone else.',
    SIGNUP_DISABLED: 'Sign in first: this site uses its own sign-in.',
    CHARGES_DISABLED: 'Top-up is not available here.',
    UNAUTHENTICATED: 'Your sign-in has ended. Sign in again.',
    NOT_FOUND: 'Not found: it may have been removed.',
    VALIDATION_FAILED: 'That value is not accepted.',
    DEPENDENCY_UNAVAILABLE: 'The service is very busy. Try again shortly.',
    OVERLOADED: 'The service is very busy. Try again shortly.',
    SHUTTING_DOWN: 'The service is restarting. Try again shortly.',
    NETWORK: 'No connection. Check your network and try again.',
    other: 'Something went wrong. Try again.',
  },
}

/** @typedef {typeof en} Strings */

/** @type {Strings} */
const ko = {
  siteName: 'stagedoor',
  concerts: '공연',
  myTickets: '내 티켓',
  loading: '불러오는 중…',
  soldOut: '매진',
  backToConcerts: '전체 공연',
  lineOpens: (when) => `대기열은 ${when}에 열립니다.`,
  saleOpens: (when) => `판매는 ${when}에 시작합니다.`,
  presaleFrom: (when) => `선예매(코드 필요)는 ${when}에 시작합니다.`,
  joinQueue: '대기열 참가',
  joining: '참가하는 중…',
  presale: (from, sale) => `선예매는 ${from}에 시작합니다. 일반 판매가 시작되는 ${sale}까지는 선예매 코드가 있어야 참가할 수 있습니다.`,
  presaleCode: '선예매 코드',
  preQueuePresale: '선예매 전 대기열에 있습니다. 선예매가 시작되면 순서를 무작위로 정합니다.',
  presaleIn: (eta) => `선예매 시작까지 ${eta}.`,
  challenge: '봇이 아닌 브라우저인지 확인하는 중',
  challengeProgress: (pct) => `예상 작업의 약 ${pct}% 완료`,
  placeInLine: (n) => `대기 순서: ${n}번째`,
  preQueue: '판매 전 대기열에 있습니다. 판매가 시작되면 순서를 무작위로 정합니다.',
  saleIn: (eta) => `판매 시작까지 ${eta}.`,
  eta: (eta) => `예상 대기 시간: ${eta}.`,
  etaUnderMinute: '1분 미만',
  etaMinutes: (m) => `약 ${m}분`,
  etaHours: (h, m) => `약 ${h}시간 ${m}분`,
  progressLabel: '대기 진행률',
  keepOpen: '이 페이지를 열어 두세요 — 새로고침해도 순서는 유지됩니다.',
  seatsLeft: (n) => `남은 좌석 ${n}석`,
  soldOutWaiting: '지금은 매진입니다. 순서는 유지되며, 좌석이 다시 나오면 대기열이 움직입니다.',
  yourTurn: '차례가 되었습니다. 날짜와 좌석을 고르세요.',
  turnEnded: '차례가 끝났습니다. 더 구매하려면 대기열에 다시 참가하세요.',
  placeLapsed: '대기 순서가 만료되었습니다. 대기열에 다시 참가하세요.',
  paidEnded: '결제로 대기열 차례가 끝났습니다.',
  connectionTrouble: '연결이 불안정합니다. 계속 시도하는 중…',
  dates: '날짜',
  dateOption: (when, left, total) => `${when} — ${total}석 중 ${left}석 남음`,
  noDates: '판매 중인 날짜가 없습니다.',
  seatMap: '좌석 배치도',
  seat: (n) => `좌석 ${n}`,
  seatWhere: (section, row) => `${section} 구역 ${row}열`,
  holdSeat: '좌석 선점',
  holding: '선점하는 중…',
  pickSeat: '빈 좌석을 고르세요.',
  legendFree: '빈 좌석',
  legendTaken: '판매·선점됨',
  legendChosen: '선택함',
  zoomIn: '확대',
  zoomOut: '축소',
  section: '구역',
  row: '열',
  seatInRow: '번호',
  choose: '선택',
  bestAvailable: '최적 좌석',
  noneAvailable: '이 날짜에는 빈 좌석이 없습니다.',
  seatTakenHere: '이미 팔렸거나 선점된 좌석입니다. 다른 좌석을 고르세요.',
  canvasLabel: (n) => `좌석 ${n}석의 배치도. 아래 선택기로 좌석을 고르세요.`,
  yourHolds: '내 좌석',
  timeLeft: '결제 남은 시간',
  expired: '만료됨',
  confirmed: '확정',
  released: '취소됨',
  held: '선점 중',
  balance: (amount) => `잔액: ${amount}`,
  amount: '금액',
  topUp: '충전',
  toppedUp: (amount) => `${amount}을 충전했습니다.`,
  amountHint: '1원부터 1억 원까지 원 단위로.',
  topUpOff: '여기서는 충전할 수 없습니다. 이 사이트에서 결제가 확인되면 잔액이 충전됩니다.',
  balanceShort: '잔액이 부족합니다.',
  pay: '결제',
  paying: '결제하는 중…',
  release: '취소',
  paidNote: '결제했습니다. 티켓은 내 티켓에 있습니다.',
  noTickets: '아직 티켓이 없습니다.',
  ticketLine: (title, seat) => `${title} — 좌석 ${seat}`,
  refund: '환불',
  refundTerms: (hours, fee) =>
    hours === 0
      ? `공연 시작 전까지 환불할 수 있으며, 수수료 ${fee}를 뺍니다.`
      : `공연 ${hours}시간 전까지 환불할 수 있으며, 수수료 ${fee}를 뺍니다.`,
  refundQuestion: '이 티켓을 환불할까요? 좌석은 다시 판매됩니다.',
  refundBack: '잔액으로 돌려받는 금액',
  refundFee: '수수료',
  confirmRefund: '환불 확인',
  keepTicket: '티켓 유지',
  refunding: '환불하는 중…',
  refunded: '환불됨',
  refundedAmount: (amount) => `${amount}이(가) 잔액으로 돌아왔습니다.`,
  noRefunds: '이 공연은 환불할 수 없습니다.',
  refundsClosed: (when) => `이 날짜의 환불은 ${when}에 마감되었습니다.`,
  language: '언어',
  signInFirst: '먼저 로그인하세요: 이 사이트는 자체 로그인을 사용합니다.',
  errors: {
    SEAT_UNAVAILABLE: '방금 다른 분이 그 좌석을 잡았습니다. 다른 좌석을 고르세요.',
    HOLD_LIMIT_REACHED: '이 날짜에 한 사람이 선점할 수 있는 좌석 수를 모두 채웠습니다. 먼저 결제하거나 취소하세요.',
    TICKET_LIMIT: '이 공연에서 한 사람이 살 수 있는 티켓 수에 도달했습니다.',
    HOLD_EXPIRED: '선점 시간이 끝나 좌석이 다시 판매됩니다. 좌석을 다시 고르세요.',
    HOLD_RELEASED: '취소된 선점입니다. 좌석을 다시 고르세요.',
    ALREADY_PAID: '이미 결제한 좌석입니다.',
    INSUFFICIENT_BALANCE: '잔액이 부족합니다. 먼저 충전하세요.',
    SOLD_OUT: '매진: 모든 좌석이 팔렸습니다.',
    SCHEDULE_CLOSED: '이미 시작한 공연이라 더 이상 판매하지 않습니다.',
    SCHEDULE_CANCELLED: '취소된 날짜입니다. 결제한 좌석은 모두 수수료 없이 전액 환불됩니다.',
    REFUND_NOT_ALLOWED: '이 공연은 환불할 수 없습니다.',
    NOT_PAID: '결제한 좌석만 환불할 수 있습니다.',
    ALREADY_REFUNDED: '이미 환불한 티켓입니다.',
    RATE_LIMITED: (s) => `짧은 시간에 너무 많이 시도했습니다. ${s}초 뒤에 다시 시도하세요.`,
    QUEUE_NOT_OPEN: '대기열이 아직 열리지 않았습니다. 열리면 다시 오세요.',
    QUEUE_TOKEN_EXPIRED: '차례가 끝났습니다. 대기열에 다시 참가하세요.',
    QUEUE_TOKEN_INVALID: '대기 순서가 더 이상 유효하지 않습니다. 대기열에 다시 참가하세요.',
    QUEUE_NOT_ADMITTED: '아직 차례가 아닙니다. 대기 중입니다.',
    CHALLENGE_FAILED: '브라우저 확인을 통과하지 못했습니다. 다시 시도하세요.',
    CHALLENGE_REQUIRED: '참가하려면 브라우저 확인이 필요합니다. 다시 시도하세요.',
    PRESALE_CODE_REQUIRED: '선예매 기간입니다. 참가하려면 선예매 코드를 입력하세요.',
    PRESALE_CODE_INVALID: '이 공연의 선예매 코드가 아닙니다. 확인하고 다시 시도하세요.',
    PRESALE_CODE_USED: '이미 다른 분이 사용한 선예매 코드입니다.',
    SIGNUP_DISABLED: '먼저 로그인하세요: 이 사이트는 자체 로그인을 사용합니다.',
    CHARGES_DISABLED: '여기서는 충전할 수 없습니다.',
    UNAUTHENTICATED: '로그인이 만료되었습니다. 다시 로그인하세요.',
    NOT_FOUND: '찾을 수 없습니다. 삭제되었을 수 있습니다.',
    VALIDATION_FAILED: '받을 수 없는 값입니다.',
    DEPENDENCY_UNAVAILABLE: '서비스가 매우 붐빕니다. 잠시 뒤 다시 시도하세요.',
    OVERLOADED: '서비스가 매우 붐빕니다. 잠시 뒤 다시 시도하세요.',
    SHUTTING_DOWN: '서비스가 다시 시작하는 중입니다. 잠시 뒤 다시 시도하세요.',
    NETWORK: '연결되지 않았습니다. 네트워크를 확인하고 다시 시도하세요.',
    other: '문제가 생겼습니다. 다시 시도하세요.',
  },
}

export const strings = { en, ko }

/**
 * A refusal in the fan's words, by the problem's code; a 429 says how long to wait.
 * @param {Strings} t
 * @param {Refusal} problem
 */
export function explain(t, problem) {
  /** @type {Partial<Record<string, Strings['errors'][keyof Strings['errors']]>>} */
  const byCode = t.errors
  const words = byCode[problem?.code] ?? t.errors.other
  return typeof words === 'function' ? words(problem.retryAfterS ?? 60) : words
}

/**
 * A wait in words: under a minute, minutes, or hours and minutes.
 * @param {Strings} t
 * @param {number} seconds
 */
export function waitWords(t, seconds) {
  if (seconds < 60) return t.etaUnderMinute
  const minutes = Math.round(seconds / 60)
  if (minutes < 60) return t.etaMinutes(minutes)
  return t.etaHours(Math.floor(minutes / 60), minutes % 60)
}
