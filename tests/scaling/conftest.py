"""Fixtures of the scaling tests: the running local stack named by TICKETING_STACK_DIR."""
import os
import subprocess
import urllib.request

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Stack:
    def __init__(self, directory):
        self.dir = directory
        self.env = dict(os.environ)
        with open(os.path.join(directory, 'env')) as f:
            for line in f:
                if line.startswith('export ') and '=' in line:
                    name, value = line[len('export '):].rstrip('\n').split('=', 1)
                    # Values are %q-quoted by the stack: let bash undo it.
                    self.env[name] = subprocess.run(['bash', '-c', f'printf %s {value}'],
                                                    capture_output=True, text=True).stdout
        self.env['TICKETING_STACK_DIR'] = directory
        self.base = self.env['TICKETING_BASE_URL']
        self.host, self.port = self.base.split('//', 1)[1].split(':')

    def stack(self, *args, check=True):
        return subprocess.run([os.path.join(REPO, 'scripts', 'stack'), *args], env=self.env,
                              capture_output=True, text=True, check=check)

    def sql(self, query):
        out = subprocess.run(
            ['mariadb', '--no-defaults', '--protocol=TCP', '-h', self.env['TICKETING_DB_HOST'],
             '-P', self.env['TICKETING_DB_PORT'], '-u', self.env['TICKETING_DB_USER'],
             '--batch', '--skip-column-names', self.env['TICKETING_DB_NAME'], '-e', query],
            env={**self.env, 'MYSQL_PWD': self.env['TICKETING_DB_PASSWORD']},
            capture_output=True, text=True, check=True).stdout
        return [line.split('\t') for line in out.splitlines()]

    def root_sql(self, query):
        sock = os.path.join(self.dir, 'run', 'mysqld.sock')
        return subprocess.run(['mariadb', '--no-defaults', f'--socket={sock}', '-u', 'root',
                               '--batch', '--skip-column-names', '-e', query],
                              capture_output=True, text=True, check=True).stdout

    def tokens(self, first, last):
        out = subprocess.run([os.path.join(REPO, 'build', 'tools', 'ticketing-admin'), 'tokens',
                              str(first), str(last), '3600'], env=self.env,
                             capture_output=True, text=True, check=True).stdout.split()
        return dict(zip(range(first, last + 1), out))

    def pools(self):
        return int(self.env.get('TICKETING_POOLS', '1'))


@pytest.fixture(scope='module')
def stack():
    directory = os.environ.get('TICKETING_STACK_DIR')
    if not directory or not os.path.exists(os.path.join(directory, 'env')):
        pytest.skip('TICKETING_STACK_DIR does not name an up stack (scripts/stack up)')
    s = Stack(directory)
    try:
        urllib.request.urlopen(s.base + '/health', timeout=2).read()
    except OSError as e:
        pytest.skip(f'the stack at {s.base} does not answer: {e}')
    return s
