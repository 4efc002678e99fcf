package runtime

// RecordEvents returns the machine's events in a journal record payload written by the runtime:
// the bytes a machine appended to Batch.Events in that batch, which its Apply reads. It is for
// projections that read the journal outside the runtime; the envelope delta (messages, marks) is
// checked but not returned. The events alias payload, or for a packed record a fresh buffer.
func RecordEvents(payload []byte) (events []byte, err error) {
	var d batchDelta
	return decodeRecordPayload(payload, &d)
}
