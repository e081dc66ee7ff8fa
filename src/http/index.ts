/**
 * Shared HTTP feeding and enforcement: principals from requests, exposures from responses,
 * masking, challenges and answers. The adapters in src/middleware and src/proxy build on this.
 */
export {
  computeAnomalies,
  createAutomationTest,
  createUserAgentFacts,
  type UserAgentFacts,
} from './anomalies.ts'
export {
  BoundedBuffer,
  CODINGS,
  type Coding,
  decodeBody,
  encodeBody,
  parseCoding,
  textKind,
} from './body.ts'
export {
  type Challenge,
  type ChallengeOptions,
  createChallenge,
  HTTP_CHALLENGE_SECRET,
  leadingZeroBits,
  safeReturnPath,
  type VerifyResult,
} from './challenge.ts'
export {
  type ClientAddress,
  FORWARDED_HEADERS,
  type ForwardedHeader,
  resolveClientAddress,
} from './client-address.ts'
export {
  DISCOVERY_KINDS,
  type DiscoveryKind,
  discoverExposures,
  type Finding,
  findPersonalValues,
  isValidNationalId,
  maskPersonalValues,
  maskValue,
} from './discovery.ts'
export {
  type BodyPlan,
  createGuard,
  type Gate,
  type Guard,
  type GuardEngine,
  type GuardOptions,
  type GuardVerdict,
  type ResponseOutcome,
  THROTTLE_MODES,
  type ThrottleMode,
} from './guard.ts'
export {
  type CidrMatcher,
  createCidrMatcher,
  formatIp,
  HTTP_BAD_CIDR,
  type IpWords,
  isV4,
  normalizeIp,
  parseIp,
  subnetOf,
} from './ip.ts'
export { updateJsonPath } from './json-path.ts'
export { maskBodyText, maskField, maskJsonFields } from './mask.ts'
export { guardExchange, nodeRequestFacts, sendAnswer, watchResponse } from './node-response.ts'
export {
  type AccountResolver,
  createPrincipalExtractor,
  type PrincipalExtractor,
  type PrincipalOptions,
  type RequestIdentity,
} from './principals.ts'
export { type Answer, PROBLEM_BASE, problemAnswer, retryAfterSeconds } from './problem.ts'
export {
  cookieValue,
  type HeaderMap,
  headerValue,
  rawHeaderNames,
  type RequestFacts,
} from './request.ts'
