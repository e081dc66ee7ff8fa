/** The reverse proxy and the decision endpoint for gateways (nginx auth_request). */
export {
  createDecisionServer,
  type DecisionServer,
  type DecisionServerOptions,
  feedFromLog,
} from './decision-server.ts'
export {
  createReverseProxy,
  isLoopbackHost,
  PROXY_INVALID,
  type ReverseProxy,
  type ReverseProxyOptions,
} from './reverse-proxy.ts'
