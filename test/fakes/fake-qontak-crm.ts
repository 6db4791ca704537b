// The tests' fake Qontak CRM is the same simulator the demo runs: one implementation of the API's behaviour.
export { QontakCrmSimulator as FakeQontakCrm, type FakeCrmOptions, type RecordedRequest } from '../../src/simulators/qontak-crm-simulator.ts';
