package manager

import (
	"context"
	"fmt"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/registry"
	"github.com/mp-go/mp/internal/wire"
)

// Initializer runs init(ctx, arg) in the server process that Start
// starts, before it serves (Python's BaseManager.start(initializer,
// initargs)): the place to set up what the server's registered types and
// update functions use, or to tell another process that the server is
// up. init must be made with mp.Register at package level (the server
// process is this program started again) and arg must be encodable;
// init's result is ignored. Start returns once init has returned and the
// server listens; an error from init fails Start with init's error.
// Start's start timeout bounds init too.
//
// Only Start runs an initializer: Connect ignores it, and Serve (a server
// in this process) and Cluster (no server process) refuse it with
// mp.ErrInvalidOption, since code of this process can simply run first.
func Initializer[A, R any](init mp.Func[A, R], arg A) Option {
	return func(c *config) {
		switch {
		case init.IsZero():
			c.initErr = fmt.Errorf("%w: manager.Initializer with a zero mp.Func (make it with mp.Register)", mp.ErrInvalidOption)
		case !init.Registered():
			c.initErr = fmt.Errorf("%w: manager.Initializer needs a function made with mp.Register, at package level: the server process finds it by name (mp.Fn makes a closure, which cannot cross processes)", mp.ErrInvalidOption)
		default:
			b, err := wire.Marshal(arg)
			if err != nil {
				c.initErr = fmt.Errorf("%w: manager.Initializer's argument: %w", mp.ErrInvalidOption, err)
				return
			}
			c.initErr, c.init = nil, &serverInit{Name: init.Name(), Arg: b}
		}
	}
}

// serverInit is an Initializer, as the server process gets it.
type serverInit struct {
	Name string `cbor:"1,keyasint"`
	Arg  []byte `cbor:"2,keyasint"`
}

// run runs the initializer in the server process.
func (i *serverInit) run(ctx context.Context) error {
	if i == nil {
		return nil
	}
	_, ok, err := registry.Call(ctx, i.Name, i.Arg)
	if !ok {
		return fmt.Errorf("manager: the initializer %q is not registered in the server process (call mp.Register at package level, not in a function)", i.Name)
	}
	if err != nil {
		return fmt.Errorf("manager: the initializer %q failed: %w", i.Name, err)
	}
	return nil
}

// checkInit refuses an Initializer where no server process runs it.
func (c *config) checkInit(where string) error {
	if c.initErr != nil {
		return c.initErr
	}
	if c.init != nil && where != "" {
		return fmt.Errorf("%w: manager.Initializer runs in the server process that manager.Start starts; %s has none (run the code before it instead)", mp.ErrInvalidOption, where)
	}
	return nil
}
