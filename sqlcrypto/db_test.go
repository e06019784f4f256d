package sqlcrypto_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
	"github.com/cryptkeeper-go/cryptkeeper/sqlcrypto"
)

// dbEnv is one database a test runs on: SQLite in a temp file, or a fresh
// schema of the private PostgreSQL cluster.
type dbEnv struct {
	name    string
	db      *sql.DB
	dialect sqlcrypto.Dialect
	blob    string
	open    func(t *testing.T) *sql.DB // another connection pool to the same database
}

// q rewrites ? placeholders to the dialect's.
func (e *dbEnv) q(s string) string {
	if e.dialect != sqlcrypto.Postgres {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (e *dbEnv) exec(t *testing.T, s string, args ...any) {
	t.Helper()
	_, err := e.db.ExecContext(context.Background(), e.q(s), args...)
	require.NoError(t, err, s)
}

// forEachDB runs f on SQLite and on PostgreSQL.
func forEachDB(t *testing.T, f func(t *testing.T, e *dbEnv)) {
	t.Run("sqlite", func(t *testing.T) { f(t, newSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { f(t, newPostgres(t)) })
}

func newSQLite(t *testing.T) *dbEnv {
	dsn := "file:" + filepath.Join(t.TempDir(), "test.db") + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
	open := func(t *testing.T) *sql.DB {
		db, err := sql.Open("sqlite", dsn)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		return db
	}
	return &dbEnv{name: "sqlite", db: open(t), dialect: sqlcrypto.SQLite, blob: "BLOB", open: open}
}

var (
	pgOnce sync.Once
	pgDSN  string
	pgErr  error
	pgStop func()
	pgSeq  atomic.Int64
)

func newPostgres(t *testing.T) *dbEnv {
	pgOnce.Do(startPostgres)
	if pgErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL: %v", pgErr)
		}
		t.Skipf("PostgreSQL not available: %v", pgErr)
	}
	schema := fmt.Sprintf("t%d", pgSeq.Add(1))
	admin, err := sql.Open("pgx", pgDSN)
	require.NoError(t, err)
	_, err = admin.Exec("CREATE SCHEMA " + schema)
	require.NoError(t, err)
	admin.Close()
	open := func(t *testing.T) *sql.DB {
		db, err := sql.Open("pgx", pgDSN+" search_path="+schema)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		return db
	}
	return &dbEnv{name: "postgres", db: open(t), dialect: sqlcrypto.Postgres, blob: "BYTEA", open: open}
}

// startPostgres starts a private cluster in a temp dir on a free port of
// 127.0.0.1, as the postgres user when running as root.
func startPostgres() {
	bindir := "/usr/lib/postgresql/15/bin"
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		bindir = strings.TrimSpace(string(out))
	}
	if _, err := os.Stat(filepath.Join(bindir, "initdb")); err != nil {
		pgErr = fmt.Errorf("no initdb in %s (apt-get install postgresql-15)", bindir)
		return
	}
	dir, err := os.MkdirTemp("", "sqlcrypto-pg-")
	if err != nil {
		pgErr = err
		return
	}
	var asUser []string
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			pgErr = fmt.Errorf("running as root and no postgres user: %w", err)
			return
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			pgErr = err
			return
		}
		asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	run := func(args ...string) error {
		args = append(asUser, args...)
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		pgErr = err
		return
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	data := filepath.Join(dir, "data")
	if pgErr = run(filepath.Join(bindir, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"); pgErr != nil {
		return
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off", port, dir)
	if pgErr = run(filepath.Join(bindir, "pg_ctl"), "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start"); pgErr != nil {
		return
	}
	pgStop = func() {
		_ = run(filepath.Join(bindir, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop")
		os.RemoveAll(dir)
	}
	pgDSN = fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=postgres sslmode=disable", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		db, _ := sql.Open("pgx", pgDSN)
		err := db.Ping()
		db.Close()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			pgErr = err
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if pgStop != nil {
		pgStop()
	}
	os.Exit(code)
}

// newKeyring returns a raw AES keyring with a random key.
func newKeyring(t testing.TB) keyring.Keyring {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	kr, err := keyring.NewRawAES("sqlcrypto-test", "key-1", key)
	require.NoError(t, err)
	return kr
}

func openKeyset(t *testing.T, e *dbEnv, kr keyring.Keyring, opts ...sqlcrypto.Option) *sqlcrypto.Keyset {
	t.Helper()
	ks, err := sqlcrypto.Open(context.Background(), e.db, kr, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { ks.Close() })
	return ks
}
