"""directgate init / serve / check-config on a temp instance."""
import os
import signal
import stat

from harness import Env, run


def test_init_creates_config_store_and_private_key_directory():
    with Env("init") as env:
        gw = env.instance()
        st = os.stat(os.path.join(gw.dir, "keys"))
        assert stat.S_IMODE(st.st_mode) == 0o700, oct(st.st_mode)
        assert os.path.exists(os.path.join(gw.dir, "directgate.db"))
        r = gw.cli("init", "--dir", gw.dir, check=False)
        assert r.returncode != 0 and "already exists" in r.stderr, r.stderr


def test_serve_logs_ready_and_stops_cleanly_on_sigterm():
    with Env("serve") as env:
        gw = env.instance()
        gw.start()
        rc = gw.stop(signal.SIGTERM)
        assert rc == 0, (rc, gw.log_tail())
        assert "event=stopped" in gw.log()


def test_serve_stops_cleanly_on_sigint():
    with Env("sigint") as env:
        gw = env.instance()
        gw.start()
        assert gw.stop(signal.SIGINT) == 0, gw.log_tail()


def test_second_daemon_on_the_same_instance_is_refused():
    with Env("lock") as env:
        gw = env.instance()
        gw.start()
        r = gw.cli("serve", check=False, timeout=20)
        assert r.returncode == 1 and "another directgate" in r.stderr, r.stderr
        assert gw.stop() == 0


def test_sighup_reopens_the_log_and_keeps_serving():
    with Env("hup") as env:
        gw = env.instance(config="[core]\nlog_file = daemon.log\n")
        # With log_file set, lines go to daemon.log: wait there for ready.
        gw.log_path = os.path.join(gw.dir, "daemon.log")
        gw.start()
        os.rename(gw.log_path, gw.log_path + ".1")
        gw.proc.send_signal(signal.SIGHUP)
        gw.wait_log("event=sighup")
        assert gw.stop() == 0


def test_check_config_names_file_line_and_key():
    with Env("cfg") as env:
        gw = env.instance()
        r = gw.cli("check-config")
        assert "[core]" in r.stdout and "store = directgate.db" in r.stdout
        gw.configure("[core]\nlog_levle = debug\n")
        r = gw.cli("check-config", check=False)
        assert r.returncode == 1, r
        assert "directgate.conf:" in r.stderr and "log_levle" in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_out_of_range_value_is_refused():
    with Env("range") as env:
        gw = env.instance(config="[core]\nworkers = 1000\n")
        r = gw.cli("check-config", check=False)
        assert r.returncode == 1 and "workers" in r.stderr, r.stderr


def test_demo_instance_has_domains_keys_and_mailboxes_and_serves():
    with Env("demo") as env:
        gw = env.instance(demo=True)
        r = gw.cli("address", "list", "--json")
        assert "dr.smith@b.example" in r.stdout and "adt@a.example" in r.stdout, r.stdout
        keys = [f for f in os.listdir(os.path.join(gw.dir, "keys")) if f.endswith(".key")]
        for k in keys:
            st = os.stat(os.path.join(gw.dir, "keys", k))
            assert stat.S_IMODE(st.st_mode) == 0o600, (k, oct(st.st_mode))
        assert len(keys) >= 3, keys
        with open(os.path.join(gw.dir, "dovecot.passwd")) as f:
            assert "dr.smith@b.example:{CRYPT}$y$" in f.read()
        gw.start()
        assert "event=trust_loaded" in gw.log()
        assert gw.stop() == 0


def test_every_command_answers_help():
    with Env("help") as env:
        gw = env.instance()
        r = gw.cli("--help")
        cmds = [l.split()[0] for l in r.stdout.splitlines()
                if l.startswith("  ") and l.strip()]
        assert "serve" in cmds and "init" in cmds, r.stdout
        for c in cmds:
            h = gw.cli(c, "--help")
            assert "usage" in h.stdout.lower(), (c, h.stdout)
        r = gw.cli("no-such-command", check=False)
        assert r.returncode == 2


if __name__ == "__main__":
    run([
        test_init_creates_config_store_and_private_key_directory,
        test_serve_logs_ready_and_stops_cleanly_on_sigterm,
        test_serve_stops_cleanly_on_sigint,
        test_second_daemon_on_the_same_instance_is_refused,
        test_sighup_reopens_the_log_and_keeps_serving,
        test_check_config_names_file_line_and_key,
        test_out_of_range_value_is_refused,
        test_demo_instance_has_domains_keys_and_mailboxes_and_serves,
        test_every_command_answers_help,
    ])
