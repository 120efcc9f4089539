// Every word of the operator console, in English and Korean. Accessible names that people and
// tests find controls by are marked: they must stay exactly as they are.

/** @import { Refusal } from '../shared/api.js' */

const en = {
  title: 'stagedoor — operator console',
  adminKey: 'Admin key', // accessible name
  signIn: 'Sign in', // accessible name
  signOut: 'Sign out',
  keyNote: 'The key is kept for this browser tab only.',
  wrongKey: 'That admin key was not accepted.',
  concerts: 'Concerts',
  noConcerts: 'No concerts yet.',
  newConcert: 'New concert',
  concertTitle: 'Title',
  performer: 'Performer',
  venue: 'Venue',
  queueOpensAt: 'Line opens (optional)',
  presaleOpensAt: 'Presale opens (optional)',
  saleOpensAt: 'Sale opens (optional)',
  create: 'Create',
  created: 'Created.',
  dates: 'Dates',
  noDates: 'No upcoming dates.',
  dateLine: (/** @type {string} */ when, /** @type {string} */ left, /** @type {string} */ total) =>
    `${when}: ${left} of ${total} seats free`,
  newDate: 'New date',
  startsAt: 'Starts at',
  sections: 'Sections',
  sectionName: 'Name',
  rows: 'Rows',
  seatsPerRow: 'Seats per row',
  price: 'Price (won)',
  addSection: 'Add section',
  removeSection: (/** @type {number} */ n) => `Remove section ${n}`,
  totalSeats: (/** @type {string} */ n) => `${n} seats in all`,
  addDate: 'Add date',
  // Refunds: the concert's policy, and a cancelled date's refunds.
  refunds: 'Refunds',
  fanRefunds: 'Fan refunds', // accessible name of the switch
  refundHours: 'Refunds close (hours before the date)', // accessible name
  refundFeePercent: 'Refund fee (%)', // accessible name
  refundsOff: 'Fans cannot refund. A cancelled date is refunded in full all the same.',
  dateStatus: { ON_SALE: 'On sale', CANCELLING: 'Cancelling', CANCELLED: 'Cancelled' },
  cancelDate: 'Cancel date', // accessible name
  cancelQuestion: (/** @type {string} */ when) => `Cancel the date of ${when}?`,
  cancelWhat: 'Every paid seat is refunded in full, with no fee; every hold is released; nothing more is sold. This cannot be undone.',
  confirmCancel: 'Cancel this date', // accessible name
  keepDate: 'Keep on sale', // accessible name
  refundProgress: (/** @type {string} */ when) => `Refunds for ${when}`, // accessible name of the progress bar
  refundedOf: (/** @type {string} */ n, /** @type {string} */ total) => `Refunded ${n} of ${total}`,
  live: 'Live',
  waiting: 'Waiting',
  active: 'Active',
  admittedPerMinute: 'Admitted per minute',
  p50Wait: 'Median wait',
  availableSeats: 'Available seats',
  seconds: (/** @type {number} */ s) => `${s} s`,
  paused: 'Admission is paused.',
  running: 'Admission is running.',
  pause: 'Pause', // accessible name
  resume: 'Resume', // accessible name
  admission: 'Admission',
  strategy: 'Strategy',
  strategies: { rate: 'rate: a fixed number per tick', cap: 'cap: keep at most the cap active', hybrid: 'hybrid: both' },
  admitPerTick: 'Admitted per tick',
  maxActive: 'Most active at once',
  apply: 'Apply',
  saleRules: 'Sale rules',
  joinChallenge: 'Join challenge',
  challenges: { none: 'none', pow: 'proof of work' },
  maxTicketsPerUser: 'Tickets per fan',
  save: 'Save',
  saved: 'Saved.',
  presaleCodes: 'Presale codes', // accessible name of the presale region
  presaleWindow: (/** @type {string} */ from, /** @type {string} */ sale) =>
    `Presale from ${from}: until the sale opens ${sale}, fans join with a code.`,
  noPresale: 'No presale: anyone joins. Set when the presale opens to ask for codes until the sale.',
  presaleWindowForm: 'Presale times',
  savePresale: 'Save presale', // accessible name
  codeSummary: (/** @type {string} */ n, /** @type {string} */ used) => `${n} codes, ${used} used.`,
  codeCount: 'Number of codes', // accessible name
  usesPerCode: 'Fans per code', // accessible name
  generateCodes: 'Generate codes', // accessible name
  downloadCsv: 'Download CSV', // accessible name
  madeCodes: (/** @type {string} */ n) => `Made ${n} codes.`,
  newCodes: 'New codes', // accessible name of their list
  moreCodes: (/** @type {string} */ n) => `…and ${n} more: every code is in the CSV.`,
  chart: 'The last minutes',
  chartSpan: (/** @type {string} */ from, /** @type {string} */ to) => `${from} – ${to}`,
  chartWaiting: 'no figures yet',
  // Adaptive admission: the rate the line sets itself, and why.
  adaptive: 'Adaptive admission',
  adaptiveOn: 'Adaptive admission is on: the line sets its own rate per tick.',
  adaptiveOff: 'Adaptive admission is off: the rate per tick stays as set.',
  adaptiveSwitch: 'Adaptive', // accessible name of the switch
  minAdmitPerTick: 'Fewest per tick', // accessible name
  maxAdmitPerTick: 'Most per tick', // accessible name
  targetLatencyMs: 'Target p90 latency (ms)', // accessible name
  setAdaptive: 'Set adaptive admission', // accessible name
  lastDecision: 'Last decision',
  noDecision: 'No decision yet: one follows every two seconds while adaptive admission is on.',
  decidedAt: (/** @type {string} */ time) => `at ${time}`,
  latencyP90: 'Booking p90',
  errorRate: 'Failed holds and payments',
  milliseconds: (/** @type {string} */ ms) => `${ms} ms`,
  /**
   * The last decision in words: the service's own.
   * @param {{ decision: string | null, reason: string | null, admitPerTick: number, latencyP90Ms: number | null, errorRate: number | null }} d
   * @param {number} _targetMs
   */
  decision: (d, _targetMs) => d.decision ?? '',
  adaptiveChart: 'Admission rate against booking latency', // accessible name of the figure
  adaptiveSeries: { admitPerTick: 'Admitted per tick', latency: 'Booking p90 (ms)', target: 'Target (ms)' },
  adaptiveCaption: (/** @type {string} */ target) =>
    `Admitted per tick (left axis) and the p90 latency of holds and payments in ms (right axis), against the ${target} ms target (dashed)`,
  adaptiveCrossed: 'The fewest per tick must not be above the most per tick.',
  unsupported: 'This server does not support that change yet.',
  errors: {
    VALIDATION_FAILED: (/** @type {string | undefined} */ field) => `Not accepted: check ${field ?? 'the values'}.`,
    UNAUTHENTICATED: 'That admin key was not accepted.',
    NOT_FOUND: 'Not found.',
    NETWORK: 'No connection to the service.',
    DEPENDENCY_UNAVAILABLE: 'The service cannot reach its database or Redis right now.',
    OVERLOADED: 'The service is overloaded; retrying.',
    other: 'Something went wrong.',
  },
}

/** @typedef {typeof en} Strings */

/** @type {Strings} */
const ko = {
  title: 'stagedoor — 운영 콘솔',
  adminKey: '관리자 키',
  signIn: '로그인',
  signOut: '로그아웃',
  keyNote: '키는 이 브라우저 탭에만 보관합니다.',
  wrongKey: '관리자 키가 맞지 않습니다.',
  concerts: '공연',
  noConcerts: '아직 공연이 없습니다.',
  newConcert: '새 공연',
  concertTitle: '제목',
  performer: '출연',
  venue: '장소',
  queueOpensAt: '대기열 시작 (선택)',
  presaleOpensAt: '선예매 시작 (선택)',
  saleOpensAt: '판매 시작 (선택)',
  create: '만들기',
  created: '만들었습니다.',
  dates: '날짜',
  noDates: '예정된 날짜가 없습니다.',
  dateLine: (when, left, total) => `${when}: ${total}석 중 ${left}석 남음`,
  newDate: '새 날짜',
  startsAt: '시작 시각',
  sections: '구역',
  sectionName: '이름',
  rows: '열 수',
  seatsPerRow: '열당 좌석 수',
  price: '가격 (원)',
  addSection: '구역 추가',
  removeSection: (n) => `구역 ${n} 삭제`,
  totalSeats: (n) => `모두 ${n}석`,
  addDate: '날짜 추가',
  refunds: '환불',
  fanRefunds: '팬 환불',
  refundHours: '환불 마감 (공연 몇 시간 전)',
  refundFeePercent: '환불 수수료 (%)',
  refundsOff: '팬은 환불할 수 없습니다. 취소된 날짜는 그래도 전액 환불됩니다.',
  dateStatus: { ON_SALE: '판매 중', CANCELLING: '취소 중', CANCELLED: '취소됨' },
  cancelDate: '날짜 취소',
  cancelQuestion: (when) => `${when} 공연을 취소할까요?`,
  cancelWhat: '결제한 좌석은 모두 수수료 없이 전액 환불되고, 선점은 모두 풀리며, 더 이상 판매하지 않습니다. 되돌릴 수 없습니다.',
  confirmCancel: '이 날짜 취소',
  keepDate: '계속 판매',
  refundProgress: (when) => `${when} 환불 진행률`,
  refundedOf: (n, total) => `${total}석 중 ${n}석 환불함`,
  live: '실시간',
  waiting: '대기',
  active: '입장',
  admittedPerMinute: '분당 입장',
  p50Wait: '대기 시간 중앙값',
  availableSeats: '남은 좌석',
  seconds: (s) => `${s}초`,
  paused: '입장이 일시 정지되었습니다.',
  running: '입장이 진행 중입니다.',
  pause: '일시 정지',
  resume: '재개',
  admission: '입장',
  strategy: '방식',
  strategies: { rate: 'rate: 틱마다 일정 인원', cap: 'cap: 동시 입장 상한 유지', hybrid: 'hybrid: 둘 다' },
  admitPerTick: '틱당 입장',
  maxActive: '최대 동시 입장',
  apply: '적용',
  saleRules: '판매 규칙',
  joinChallenge: '참가 확인',
  challenges: { none: '없음', pow: '작업 증명' },
  maxTicketsPerUser: '1인당 티켓 수',
  save: '저장',
  saved: '저장했습니다.',
  presaleCodes: '선예매 코드',
  presaleWindow: (from, sale) => `${from}부터 선예매: 판매가 시작되는 ${sale}까지는 코드가 있어야 참가할 수 있습니다.`,
  noPresale: '선예매가 없습니다: 누구나 참가합니다. 선예매 시작을 정하면 판매 전까지 코드를 요구합니다.',
  presaleWindowForm: '선예매 시각',
  savePresale: '선예매 저장',
  codeSummary: (n, used) => `코드 ${n}개, 사용 ${used}개.`,
  codeCount: '코드 수',
  usesPerCode: '코드당 인원',
  generateCodes: '코드 만들기',
  downloadCsv: 'CSV 내려받기',
  madeCodes: (n) => `코드 ${n}개를 만들었습니다.`,
  newCodes: '새 코드',
  moreCodes: (n) => `…나머지 ${n}개를 포함해 모든 코드는 CSV에 있습니다.`,
  chart: '최근 몇 분',
  chartSpan: (from, to) => `${from} – ${to}`,
  chartWaiting: '아직 수치가 없습니다',
  adaptive: '적응형 입장',
  adaptiveOn: '적응형 입장이 켜져 있습니다: 대기열이 틱당 입장 인원을 스스로 정합니다.',
  adaptiveOff: '적응형 입장이 꺼져 있습니다: 틱당 입장 인원은 설정한 대로입니다.',
  adaptiveSwitch: '적응형',
  minAdmitPerTick: '틱당 최소 입장',
  maxAdmitPerTick: '틱당 최대 입장',
  targetLatencyMs: '목표 p90 지연 (ms)',
  setAdaptive: '적응형 입장 적용',
  lastDecision: '마지막 결정',
  noDecision: '아직 결정이 없습니다: 적응형 입장이 켜져 있으면 2초마다 결정합니다.',
  decidedAt: (time) => `${time}에`,
  latencyP90: '예매 p90',
  errorRate: '실패한 선점·결제',
  milliseconds: (ms) => `${ms}ms`,
  decision: (d, targetMs) => {
    const p90 = d.latencyP90Ms === null ? '선점·결제 없음' : `p90 ${Math.round(d.latencyP90Ms)}ms`
    const failed = `${Math.round((d.errorRate ?? 0) * 100)}%`
    const to = `틱당 ${d.admitPerTick}명`
    switch (d.reason) {
      case 'errors':
        return `선점·결제의 ${failed}가 실패: 절반인 ${to}으로 줄임`
      case 'over-target':
        return `${p90}, 목표 ${targetMs}ms 초과: ${to}으로 줄임`
      case 'settling':
        return `${p90}: 지난 감소가 드러날 때까지 ${to} 유지`
      case 'rising':
        return `${p90}, 목표 ${targetMs}ms 아래지만 빠르게 오르는 중: ${to} 유지`
      case 'near-target':
        return `${p90}, 목표 ${targetMs}ms 아래지만 여유가 적음: ${to} 유지`
      case 'headroom':
        return `${p90}, 목표 ${targetMs}ms 미만: ${to}으로 늘림`
      case 'probing':
        return `${p90}, 목표 ${targetMs}ms 미만, 지난번 한계 근처: ${to}으로 조금 늘림`
      case 'line-empty':
        return `대기하는 사람이 없음: ${to} 유지`
      case 'slots-unused':
        return `입장한 팬이 자리의 절반도 쓰지 않음: ${to} 유지`
      case 'at-max':
        return `${p90}, 목표 ${targetMs}ms 미만: 최대인 ${to}`
      case 'at-min':
        return `${p90}${d.errorRate ? `, ${failed} 실패` : ''}: 최소인 ${to}`
      default:
        return d.decision ?? ''
    }
  },
  adaptiveChart: '입장 속도와 예매 지연',
  adaptiveSeries: { admitPerTick: '틱당 입장', latency: '예매 p90 (ms)', target: '목표 (ms)' },
  adaptiveCaption: (target) => `틱당 입장(왼쪽 축)과 선점·결제의 p90 지연 ms(오른쪽 축), 목표 ${target}ms(점선) 대비`,
  adaptiveCrossed: '틱당 최소 입장은 틱당 최대 입장보다 클 수 없습니다.',
  unsupported: '이 서버는 아직 그 변경을 지원하지 않습니다.',
  errors: {
    VALIDATION_FAILED: (field) => `받을 수 없는 값입니다: ${field ?? '값'}을(를) 확인하세요.`,
    UNAUTHENTICATED: '관리자 키가 맞지 않습니다.',
    NOT_FOUND: '찾을 수 없습니다.',
    NETWORK: '서비스에 연결되지 않습니다.',
    DEPENDENCY_UNAVAILABLE: '서비스가 지금 데이터베이스나 Redis에 닿지 않습니다.',
    OVERLOADED: '서비스가 과부하 상태입니다. 다시 시도하는 중입니다.',
    other: '문제가 생겼습니다.',
  },
}

export const strings = { en, ko }

/**
 * A refusal in the operator's words, by the problem's code.
 * @param {Strings} t
 * @param {Refusal} problem
 */
export function explain(t, problem) {
  /** @type {Partial<Record<string, Strings['errors'][keyof Strings['errors']]>>} */
  const byCode = t.errors
  const words = byCode[problem?.code] ?? t.errors.other
  return typeof words === 'function' ? words(problem.field) : words
}
