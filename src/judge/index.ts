/** The judge: expectations and observations in, findings and a status out. Every command judges through here. */
export { agreed, bodySchemaFor, checkContext, judge, judgeAgreed, judgeKey, viewsOf, type Golden, type JudgeOptions, type Verdict } from './judge.ts'
export { consumerMethod, foreignHost, malformedUrl, MAX_DEPARTURE_KINDS, MAX_DEPARTURES, moreDepartures, NO_OPERATION, noOperation, pathShape, requestOffSchema, UNATTRIBUTED, unattributed, type Exchange } from './consumer.ts'
