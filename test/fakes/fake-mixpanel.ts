// The tests' fake Mixpanel is the recorder the demo runs: one implementation of the ingestion API's behaviour.
export {
  MixpanelRecorder as FakeMixpanel,
  type MixpanelRecorderOptions as FakeMixpanelOptions,
  type Fault,
  type ImportRecord,
  type FailedRecord,
} from '../../src/simulators/mixpanel-recorder.ts';
