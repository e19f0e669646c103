package vsphere

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vmware/govmomi/event"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"
	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

// eventWatch follows one vCenter's events of the watched types (see Manager.WatchEvents),
// and keeps the vCenter's "entering maintenance" marks current from them and from the
// hosts' tasks (maintenance.go).
type eventWatch struct {
	vcenter string
	sess    *Session
	cfg     config.InventoryConfig
	now     func() time.Time
	// entering are the marks the watch keeps; lookups read them.
	entering *enteringHosts
	// changes is told of the hosts whose mark changed.
	changes *changeListener
}

// run follows the events until ctx ends, calling f for each, retrying with backoff after
// errors.
func (w *eventWatch) run(ctx context.Context, f func(Event)) {
	log := klog.FromContext(ctx).WithValues("vcenter", w.vcenter)
	cur := &eventCursor{}
	retryForever(klog.NewContext(ctx, log), "Event watch failed; retrying", func(ctx context.Context) error {
		if err := w.follow(ctx, cur, f); err != nil || ctx.Err() != nil {
			return err
		}
		return errors.New("event watch ended unexpectedly") // back off rather than spin
	})
}

// follow reads the events after cur from a collector filtered on the followed types and
// on createdTime, paging with ReadNextEvents (oldest to newest), and waits for more with
// WaitForUpdatesEx on the collector's latestPage, a server-side wait that ends well
// within the call deadline, so a quiet vCenter does not break the watch. While a host is
// marked entering maintenance, the marks are checked against vCenter every recheck
// period.
func (w *eventWatch) follow(ctx context.Context, cur *eventCursor, f func(Event)) error {
	client, err := w.sess.Client(ctx)
	if err != nil {
		return err
	}
	if err := cur.start(ctx, client); err != nil {
		return err
	}
	feed, err := openEventFeed(ctx, client, cur.since)
	if err != nil {
		return err
	}
	defer feed.close(context.WithoutCancel(ctx))
	if err := w.seedEntering(ctx, client); err != nil {
		return err
	}
	recheck := min(w.cfg.MaxWait, maxEnteringRecheck)
	nextRecheck := w.now().Add(recheck)
	for {
		if err := w.deliver(ctx, feed, cur, f); err != nil {
			return err
		}
		wait := w.cfg.MaxWait
		if w.entering.any() {
			if now := w.now(); !now.Before(nextRecheck) {
				if err := w.reconcileEntering(ctx, client); err != nil {
					return err
				}
				nextRecheck = now.Add(recheck)
			}
			wait = max(min(wait, time.Until(nextRecheck)), time.Second)
		}
		if _, err := feed.next(ctx, wait, w.cfg.CallTimeout); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("waiting for events: %w", err)
		}
	}
}

// deliver reads the events after cur, page by page, and hands each to f once, after
// applying it to the entering marks.
func (w *eventWatch) deliver(ctx context.Context, feed *eventFeed, cur *eventCursor, f func(Event)) error {
	for {
		evs, err := feed.hc.ReadNextEvents(ctx, eventPage)
		if err != nil {
			return fmt.Errorf("reading events: %w", classify(err))
		}
		for _, ev := range cur.advance(evs) {
			ev.VCenter = w.vcenter
			w.noteHostEvent(ev)
			f(ev)
		}
		if len(evs) < eventPage {
			return nil
		}
	}
}

// eventFeed is an event history collector of the watched types posted since a time, and
// a property collector that reports changes of its latestPage.
type eventFeed struct {
	updateStream
	hc *event.HistoryCollector
}

// openEventFeed creates the collectors. On error, nothing it created is left behind.
func openEventFeed(ctx context.Context, client *vim25.Client, since time.Time) (*eventFeed, error) {
	bg := context.WithoutCancel(ctx)
	hc, err := event.NewManager(client).CreateCollectorForEvents(ctx, types.EventFilterSpec{
		Entity:      &types.EventFilterSpecByEntity{Entity: client.ServiceContent.RootFolder, Recursion: types.EventFilterSpecRecursionOptionAll},
		EventTypeId: watchedEvents,
		Time:        &types.EventFilterSpecByTime{BeginTime: types.NewTime(since)},
	})
	if err != nil {
		return nil, fmt.Errorf("creating event collector: %w", classify(err))
	}
	pc, err := property.DefaultCollector(client).Create(ctx)
	if err != nil {
		_ = hc.Destroy(bg)
		return nil, fmt.Errorf("creating property collector for events: %w", classify(err))
	}
	f := &eventFeed{updateStream: updateStream{client: client, pc: pc}, hc: hc}
	if _, err := pc.CreateFilter(ctx, types.CreateFilter{Spec: types.PropertyFilterSpec{
		ObjectSet: []types.ObjectSpec{{Obj: hc.Reference()}},
		PropSet:   []types.PropertySpec{{Type: hc.Reference().Type, PathSet: []string{"latestPage"}}},
	}}); err != nil {
		f.close(bg)
		return nil, fmt.Errorf("creating property filter for events: %w", classify(err))
	}
	return f, nil
}

// close destroys the property collector, then the event collector.
func (f *eventFeed) close(ctx context.Context) {
	_ = f.pc.Destroy(ctx)
	_ = f.hc.Destroy(ctx)
}
