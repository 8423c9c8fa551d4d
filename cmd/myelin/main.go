// Command myelin runs and administers a Myelin homeserver.
//
//	myelin serve                                   run the homeserver
//	myelin register --user NAME --password PW [--admin]   create an account
//	myelin registration-token [--uses N] [--valid-for D] [--token T]   create a registration token
//	myelin healthcheck                             exit 0 when the client API answers
//	myelin generate-config                         print a config file with every key
//	myelin version                                 print the version
//	myelin complement                              the Complement test image's entrypoint
//
// Every command reads the same configuration: --config FILE (optional), then
// MYELIN_* environment variables.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"myelin/internal/complement"
	"myelin/internal/config"
	"myelin/internal/server"
	"myelin/internal/users"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "myelin:", err)
		os.Exit(1)
	}
}

const usage = `usage: myelin <command> [flags]

commands:
  serve            run the homeserver
  register         create an account: --user NAME --password PW [--admin]
  registration-token  create a registration token (registration: token):
                   [--uses N] [--valid-for DURATION] [--token TOKEN]
  healthcheck      exit 0 once GET /_matrix/client/versions answers 200
  generate-config  print a configuration file with every key and its default
  version          print the version
  complement       run as the Complement test image's entrypoint (SERVER_NAME, /complement/ca)

Every command takes --config FILE; MYELIN_* environment variables override it.`

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return errors.New("no command")
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML configuration file")
	var user, password string
	var admin bool
	if cmd == "register" {
		fs.StringVar(&user, "user", "", "localpart of the new account")
		fs.StringVar(&password, "password", "", "password of the new account")
		fs.BoolVar(&admin, "admin", false, "make the account a server admin")
	}
	var uses int64
	var validFor time.Duration
	var token string
	if cmd == "registration-token" {
		fs.Int64Var(&uses, "uses", 0, "how many accounts the token may create (0: unlimited)")
		fs.DurationVar(&validFor, "valid-for", 0, "how long the token is valid (0: forever)")
		fs.StringVar(&token, "token", "", "the token (default: 16 random characters)")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	load := func() (config.Config, error) { return config.Load(*configPath, os.Environ()) }
	switch cmd {
	case "serve":
		cfg, err := load()
		if err != nil {
			return err
		}
		return serve(cfg, stdout)
	case "register":
		cfg, err := load()
		if err != nil {
			return err
		}
		return register(cfg, user, password, admin, stdout)
	case "registration-token":
		cfg, err := load()
		if err != nil {
			return err
		}
		return registrationToken(cfg, token, uses, validFor, stdout)
	case "healthcheck":
		cfg, err := load()
		if err != nil {
			return err
		}
		return healthcheck(cfg)
	case "generate-config":
		out, err := yaml.Marshal(config.Default())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "# Myelin configuration. Every key can also be set by MYELIN_<KEY> in upper case,\n# with _ between levels (e.g. MYELIN_MEDIA_SCANNER_CLAMD).\n%s", out)
		return nil
	case "version":
		fmt.Fprintln(stdout, "myelin", server.Version)
		return nil
	case "complement":
		if *configPath != "" {
			return errors.New("complement takes no --config: it is configured by SERVER_NAME and MYELIN_* variables")
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		return complement.Run(ctx, complement.Options{Environ: os.Environ()}, slog.New(slog.NewTextHandler(os.Stderr, nil)), stdout)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

func serve(cfg config.Config, stdout io.Writer) error {
	if cfg.FederationListen != "" {
		// Refuse rather than ignore: a server that silently does not federate
		// would look like a network problem to its operator.
		return errors.New("federation_listen is set, but this build has no federation API yet; unset MYELIN_FEDERATION_LISTEN")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	where := "SQLite at " + cfg.SQLitePath()
	if cfg.DatabaseURL != "" {
		where = "PostgreSQL"
	}
	fmt.Fprintf(stdout, "myelin %s: homeserver %s, client API on http://%s, %s, registration %s\n",
		server.Version, cfg.ServerName, ln.Addr(), where, cfg.Registration)
	fmt.Fprintf(stdout, "create the first user with: myelin register --user alice --password 'a long password' --admin\n")
	return srv.Run(ctx, ln)
}

func register(cfg config.Config, user, password string, admin bool, stdout io.Writer) error {
	if user == "" || password == "" {
		return errors.New("register needs --user and --password")
	}
	ctx := context.Background()
	db, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := users.New(server.UsersOptions(cfg, nil), db)
	uid, err := svc.CreateAccount(ctx, user, password, admin)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s\n", uid)
	return nil
}

// registrationToken creates a registration token on the configured store,
// also while the server runs, and prints it.
func registrationToken(cfg config.Config, token string, uses int64, validFor time.Duration, stdout io.Writer) error {
	if uses < 0 || validFor < 0 {
		return errors.New("registration-token: --uses and --valid-for must not be negative")
	}
	ctx := context.Background()
	db, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	var n users.NewRegistrationToken
	if token != "" {
		n.Token = &token
	}
	if uses > 0 {
		n.UsesAllowed = &uses
	}
	if validFor > 0 {
		expiry := time.Now().Add(validFor).UnixMilli()
		n.ExpiryTime = &expiry
	}
	t, err := users.New(server.UsersOptions(cfg, nil), db).CreateRegistrationToken(ctx, n)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, t.Token)
	if cfg.Registration != config.RegistrationToken {
		fmt.Fprintf(os.Stderr, "note: registration is %q; set registration: token (MYELIN_REGISTRATION=token) for tokens to be used\n", cfg.Registration)
	}
	return nil
}

// healthcheck asks the configured client listener for /versions; an
// unspecified listen address is reached on loopback.
func healthcheck(cfg config.Config) error {
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", cfg.Listen, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + net.JoinHostPort(host, port) + "/_matrix/client/versions")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("versions answered %s", resp.Status)
	}
	return nil
}
