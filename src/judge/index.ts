/** The judge: expectations and observations in, findings and a status out. Every command judges through here. */
export { agreed, bodySchemaFor, judge, judgeAgreed, viewsOf, type Golden, type JudgeOptions, type Verdict } from './judge.ts'
export { consumerMethod, foreignHost, malformedUrl, NO_OPERATION, noOperation, pathShape, UNATTRIBUTED, unattributed, type Exchange } from './consumer.ts'
