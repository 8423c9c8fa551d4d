package e2ee

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// SendToDevice stores the messages of PUT /sendToDevice/{eventType}/{txnId}
// for delivery by /sync: messages maps user IDs to device IDs ("*" for all
// the user's devices) to the content object. Messages to devices that do
// not exist are dropped, as the spec's "known devices" implies. The same
// transaction ID (per sender device and event type) again stores nothing
// and succeeds, for idempotency.
//
// Errors: 400 M_INVALID_PARAM for an invalid user ID, an empty or
// over-long device ID, event type or transaction ID, or too many
// messages; 400 M_BAD_JSON for a content that is not an object.
//
// NOTSPEC: messages for users of other servers are dropped: Myelin has no
// federation yet.
func (s *Service) SendToDevice(ctx context.Context, sender spec.UserID, senderDevice, evType, txnID string, messages map[string]map[string]json.RawMessage) error {
	if err := checkID(evType, "event type"); err != nil {
		return err
	}
	if err := checkID(txnID, "transaction ID"); err != nil {
		return err
	}
	now := s.opts.Now().UnixMilli()
	b := store.ToDeviceBatch{Sender: sender.String(), SenderDevice: senderDevice, Type: evType, TxnID: txnID, TS: now}
	n := 0
	for _, id := range slices.Sorted(maps.Keys(messages)) {
		u, err := parseUser(id, "messages")
		if err != nil {
			return err
		}
		owner := s.owner(u)
		for _, dev := range slices.Sorted(maps.Keys(messages[id])) {
			if n++; n > MaxToDeviceMessages {
				return spec.InvalidParam("at most %d messages per request", MaxToDeviceMessages)
			}
			if err := checkID(dev, "device ID"); err != nil {
				return err
			}
			content := messages[id][dev]
			o, err := parseObject(content, "message content")
			if err != nil {
				return err
			}
			if owner.Localpart == "" {
				continue
			}
			raw, err := json.Marshal(o)
			if err != nil {
				return fmt.Errorf("encoding message content: %w", err)
			}
			b.Messages = append(b.Messages, store.ToDeviceMessage{Recipient: owner, DeviceID: dev, Content: raw})
		}
	}
	pos, _, err := s.store.SendToDevice(ctx, b)
	if err != nil {
		return fmt.Errorf("storing to-device messages: %w", err)
	}
	s.notify(StreamToDevice, pos)
	s.sweepTxns(ctx, now)
	return nil
}

// sweepTxns deletes the to-device transaction IDs older than
// ToDeviceTxnLifetime, at most once an hour.
func (s *Service) sweepTxns(ctx context.Context, now int64) {
	last := s.lastTxnSweep.Load()
	if now-last < 3600_000 || !s.lastTxnSweep.CompareAndSwap(last, now) {
		return
	}
	if err := s.store.DeleteToDeviceTxns(ctx, now-ToDeviceTxnLifetime.Milliseconds()); err != nil {
		s.log.WarnContext(ctx, "deleting old to-device transaction IDs", "err", err)
	}
}

// ToDeviceEvent is a to-device message as /sync delivers it.
type ToDeviceEvent struct {
	Sender  string          `json:"sender"`
	Type    string          `json:"type"`
	Content json.RawMessage `json:"content"`
}

// ToDevicePosition returns the to-device stream's last committed position.
func (s *Service) ToDevicePosition(ctx context.Context) (int64, error) {
	pos, err := s.store.ToDevicePosition(ctx)
	if err != nil {
		return 0, fmt.Errorf("reading to-device position: %w", err)
	}
	return pos, nil
}

// ToDeviceForSync returns the to-device section of a /sync of the device:
// first it deletes the messages at or below since, which the client
// acknowledged by syncing with a since after them; then it returns up to
// ToDeviceSyncLimit of the messages in (since, upTo], in order, and the
// to-device position of the next sync token: upTo, or the last message's
// position when more are waiting (then the client gets them at once on its
// next sync). A message is thus delivered until the client syncs past it,
// and never lost across restarts.
func (s *Service) ToDeviceForSync(ctx context.Context, user spec.UserID, deviceID string, since, upTo int64) ([]ToDeviceEvent, int64, error) {
	if since > 0 {
		if err := s.store.AckToDevice(ctx, user.String(), deviceID, since); err != nil {
			return nil, 0, fmt.Errorf("deleting delivered to-device messages: %w", err)
		}
	}
	next := max(since, upTo)
	if since >= upTo {
		return nil, next, nil
	}
	msgs, err := s.store.ToDeviceInbox(ctx, user.String(), deviceID, since, upTo, ToDeviceSyncLimit)
	if err != nil {
		return nil, 0, fmt.Errorf("reading to-device messages: %w", err)
	}
	out := make([]ToDeviceEvent, len(msgs))
	for i, m := range msgs {
		out[i] = ToDeviceEvent{Sender: m.Sender, Type: m.Type, Content: m.Content}
	}
	if len(msgs) == ToDeviceSyncLimit {
		next = msgs[len(msgs)-1].Pos
	}
	return out, next, nil
}
