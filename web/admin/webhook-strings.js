// The words of the console's webhooks section, in English and Korean. Accessible names that people
// and tests find controls by are marked: they must stay exactly as they are.

const en = {
  webhooks: 'Webhooks', // accessible name (region)
  noWebhooks: 'No endpoints yet: events reach no other system.',
  url: 'URL',
  events: 'Events',
  description: 'Description',
  createdAt: 'Created',
  everyEvent: 'Every event (*)', // accessible name
  chosenEvents: 'Chosen events', // accessible name
  newWebhook: 'New webhook', // accessible name (form)
  addWebhook: 'Add webhook', // accessible name
  pickOne: 'Choose at least one event type.',
  secretTitle: 'Secret',
  secretNote: 'Copy it now into your receiver: it is shown only this once.',
  copy: 'Copy secret', // accessible name
  copied: 'Copied.',
  copyFailed: 'The browser did not allow copying: select the secret and copy it by hand.',
  done: 'Done',
  showDeliveries: (/** @type {string} */ url) => `Deliveries of ${url}`, // accessible name
  remove: (/** @type {string} */ url) => `Remove ${url}`, // accessible name
  confirmRemove: (/** @type {string} */ url) => `Remove ${url} and its delivery log? Events stop reaching it.`,
  confirm: 'Remove', // accessible name
  keep: 'Keep', // accessible name
  deliveries: (/** @type {string} */ url) => `Recent deliveries of ${url}`, // accessible name (region)
  noDeliveries: 'No deliveries yet.',
  eventId: 'Event',
  type: 'Type',
  attempts: 'Attempts',
  status: 'Status',
  statuses: { pending: 'pending', delivered: 'delivered', failed: 'failed' },
  lastResponse: 'Last answer',
  lastAttempt: 'Last attempt',
  nextAttempt: 'Next attempt',
  noAnswer: (/** @type {string | null} */ error) => (error ? `none (${error})` : 'none'),
  retry: (/** @type {string} */ eventId) => `Retry ${eventId}`, // accessible name
  retried: (/** @type {string} */ eventId) => `${eventId} is due again.`,
  refusedUrl: (/** @type {string} */ detail) => `That URL is refused: ${detail}.`,
}

/** @typedef {typeof en} WebhookStrings */

/** @type {WebhookStrings} */
const ko = {
  webhooks: '웹훅',
  noWebhooks: '아직 엔드포인트가 없습니다. 이벤트가 다른 시스템에 전달되지 않습니다.',
  url: 'URL',
  events: '이벤트',
  description: '설명',
  createdAt: '만든 시각',
  everyEvent: '모든 이벤트 (*)',
  chosenEvents: '고른 이벤트',
  newWebhook: '새 웹훅',
  addWebhook: '웹훅 추가',
  pickOne: '이벤트 종류를 하나 이상 고르세요.',
  secretTitle: '비밀 키',
  secretNote: '지금 수신 서버에 복사해 두세요. 이번 한 번만 보여 줍니다.',
  copy: '비밀 키 복사',
  copied: '복사했습니다.',
  copyFailed: '브라우저가 복사를 허용하지 않았습니다. 비밀 키를 선택해 직접 복사하세요.',
  done: '확인',
  showDeliveries: (url) => `${url} 전송 기록`,
  remove: (url) => `${url} 삭제`,
  confirmRemove: (url) => `${url}와(과) 전송 기록을 삭제할까요? 이벤트가 더 이상 전달되지 않습니다.`,
  confirm: '삭제',
  keep: '유지',
  deliveries: (url) => `${url} 최근 전송`,
  noDeliveries: '아직 전송이 없습니다.',
  eventId: '이벤트',
  type: '종류',
  attempts: '시도',
  status: '상태',
  statuses: { pending: '대기 중', delivered: '전달됨', failed: '실패' },
  lastResponse: '마지막 응답',
  lastAttempt: '마지막 시도',
  nextAttempt: '다음 시도',
  noAnswer: (error) => (error ? `없음 (${error})` : '없음'),
  retry: (eventId) => `${eventId} 다시 보내기`,
  retried: (eventId) => `${eventId}을(를) 곧 다시 보냅니다.`,
  refusedUrl: (detail) => `받을 수 없는 URL입니다: ${detail}.`,
}

export const webhookStrings = { en, ko }
