package hub

import "github.com/fxamacker/cbor/v2"

// SealEvidence seals a record's canonical bytes and signature under the
// data key, bound to the record's id, as ingestion stores them
// (StoredRecord.Sealed): for tools that load records into a hub in bulk
// (benchmark fixtures, migrations between stores).
func (k *Keys) SealEvidence(id [16]byte, body, sig []byte) ([]byte, error) {
	ev, err := cbor.Marshal(evidence{Body: body, Sig: sig})
	if err != nil {
		return nil, err
	}
	return k.data.Seal(ev, id[:])
}
