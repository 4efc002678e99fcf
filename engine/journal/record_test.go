package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	tests := []struct {
		name          string
		lsn           uint64
		groupPosition uint32
		rec           Record
	}{
		{"empty payload", 1, 0, Record{Shard: 0, Index: 1}},
		{"negative time", 7, 3, Record{Shard: 63, Index: 99, TimeNanos: -5, Payload: []byte("x")}},
		{"large fields", 1 << 62, 1 << 20, Record{Shard: 1<<32 - 1, Index: 1<<64 - 1, TimeNanos: 1<<63 - 1, Payload: bytes.Repeat([]byte{0xab}, 4096)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("prefix")
			buf := appendFrame(append([]byte(nil), prefix...), tt.lsn, tt.groupPosition, &tt.rec)
			if !bytes.Equal(buf[:len(prefix)], prefix) {
				t.Fatal("appendFrame changed the bytes before it")
			}
			f, n, err := decodeFrame(buf[len(prefix):])
			if err != nil {
				t.Fatal(err)
			}
			if n != recordHeaderBytes+len(tt.rec.Payload) || n != len(buf)-len(prefix) {
				t.Fatalf("size %d, want %d", n, recordHeaderBytes+len(tt.rec.Payload))
			}
			if f.lsn != tt.lsn || f.groupPosition != tt.groupPosition || !sameRecord(f.rec, tt.rec) {
				t.Fatalf("decoded %+v, want lsn %d position %d %+v", f, tt.lsn, tt.groupPosition, tt.rec)
			}
		})
	}
}

func TestDecodeRecordRejects(t *testing.T) {
	valid := appendFrame(nil, 5, 1, &Record{Shard: 2, Index: 3, Payload: []byte("payload")})
	reseal := func(b []byte) []byte {
		binary.LittleEndian.PutUint32(b, crc32.Checksum(b[offsetLength:], castagnoli))
		return b
	}
	tests := []struct {
		name string
		data func() []byte
		want error
	}{
		{"empty", func() []byte { return nil }, errRecordShort},
		{"header cut", func() []byte { return bytes.Clone(valid[:recordHeaderBytes-1]) }, errRecordShort},
		{"payload cut", func() []byte { return bytes.Clone(valid[:len(valid)-1]) }, errRecordShort},
		{"payload flipped", func() []byte { b := bytes.Clone(valid); b[len(b)-1] ^= 1; return b }, errRecordChecksum},
		{"checksum flipped", func() []byte { b := bytes.Clone(valid); b[0] ^= 0x80; return b }, errRecordChecksum},
		{"length out of range", func() []byte {
			b := bytes.Clone(valid)
			binary.LittleEndian.PutUint32(b[offsetLength:], recordPayloadBytesLimit+1)
			return b
		}, errRecordLength},
		{"unknown version", func() []byte { b := bytes.Clone(valid); b[offsetVersion] = 9; return reseal(b) }, ErrUnknownVersion},
		{"zero LSN", func() []byte {
			b := bytes.Clone(valid)
			binary.LittleEndian.PutUint64(b[offsetLSN:], 0)
			return reseal(b)
		}, errRecordLSN},
		{"group position past LSN", func() []byte {
			b := bytes.Clone(valid)
			binary.LittleEndian.PutUint32(b[offsetGroupPosition:], 5)
			return reseal(b)
		}, errRecordLSN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, n, err := decodeFrame(tt.data())
			if !errors.Is(err, tt.want) || n != 0 {
				t.Fatalf("decode: n %d, err %v, want %v", n, err, tt.want)
			}
		})
	}
	if !errors.Is(errRecordChecksum, ErrCorrupt) || errors.Is(ErrUnknownVersion, ErrCorrupt) {
		t.Fatal("damage must wrap ErrCorrupt and an unknown version must not")
	}
}

// FuzzDecodeRecord checks that the decoder never panics and never returns a record whose
// checksum does not hold, verified here independently of the package's own table.
func FuzzDecodeRecord(f *testing.F) {
	for i, rec := range []Record{
		{Shard: 1, Index: 1},
		{Shard: 2, Index: 9, TimeNanos: 12345, Payload: []byte("events")},
		{Shard: 3, Index: 4, Payload: bytes.Repeat([]byte{0, 1, 2}, 100)},
	} {
		frame := appendFrame(nil, uint64(i+1), uint32(i), &rec)
		f.Add(frame)
		f.Add(frame[:len(frame)/2])
		f.Add(frame[:recordHeaderBytes])
		f.Add(append(bytes.Clone(frame), frame...))
	}
	f.Add([]byte{})
	f.Add(make([]byte, recordHeaderBytes))
	table := crc32.MakeTable(crc32.Castagnoli)
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, n, err := decodeFrame(data)
		if err != nil {
			if n != 0 {
				t.Fatalf("error %v with size %d", err, n)
			}
			return
		}
		if n < recordHeaderBytes || n > len(data) || n != recordHeaderBytes+len(fr.rec.Payload) {
			t.Fatalf("size %d for %d bytes with payload %d", n, len(data), len(fr.rec.Payload))
		}
		if got, want := crc32.Checksum(data[4:n], table), binary.LittleEndian.Uint32(data); got != want {
			t.Fatalf("returned a record whose checksum is %08x, stored %08x", got, want)
		}
		if again := appendFrame(nil, fr.lsn, fr.groupPosition, &fr.rec); !bytes.Equal(again, data[:n]) {
			t.Fatalf("re-encoding differs:\n%x\n%x", again, data[:n])
		}
	})
}
