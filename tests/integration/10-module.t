#!/usr/bin/perl
# The nginx addon (ngx_http_shipoff_module.so) in a real nginx.
#
# 1. Configuration: each case is a piece of nginx.conf and what `nginx -t`
#    says about it (accepted, or rejected with a message).
# 2. The control API and routing: a table of requests, played in order
#    against one running nginx, each with the answer it must get.
# 3. Restart safety: the snapshot file is loaded into a fresh zone, a bad
#    one is reported and ignored.
#
# Every nginx started here is stopped at exit, whatever happened.

use strict;
use warnings;

use Test::More;
use JSON::PP ();
use Time::HiRes qw(sleep);
use lib 'tests/integration/lib';
use ShipoffTest qw(free_port tempdir json_encode);
use ShipoffNginx qw($NGINX $MODULE nginx_conf nginx_config_cases
                    check_answer start_nginx stop_nginx reload_nginx
                    bad_log_lines write_file read_file request);

BAIL_OUT("$MODULE is missing: make nginx-modules/build/ngx_http_shipoff_module.so")
    unless -f $MODULE;
BAIL_OUT("$NGINX is missing") unless -x $NGINX;

$SIG{INT} = $SIG{TERM} = sub { exit 1 };


# 1. nginx -t ---------------------------------------------------------------

my $ZONE = 'shipoff_routes zone=routes:1m;';

my @config_cases = (
    { name => 'zone', http => $ZONE },
    { name => 'zone with snapshot',
      http => 'shipoff_routes zone=routes:1m snapshot=routes.json;' },
    { name => 'zone size in megabytes, absolute snapshot path',
      http => 'shipoff_routes snapshot=/nonexistent/routes.json zone=r:16m;' },
    { name => 'zone without zone=',
      http => 'shipoff_routes snapshot=routes.json;',
      error => qr/"shipoff_routes" must have "zone" parameter/ },
    { name => 'zone size not a size',
      http => 'shipoff_routes zone=routes:abc;',
      error => qr/invalid zone size "abc"/ },
    { name => 'zone without a size',
      http => 'shipoff_routes zone=routes;',
      error => qr/invalid zone "zone=routes", expected zone=NAME:SIZE/ },
    { name => 'zone without a name',
      http => 'shipoff_routes zone=:1m;',
      error => qr/invalid zone "zone=:1m"/ },
    { name => 'zone too small',
      http => 'shipoff_routes zone=routes:8k;',
      error => qr/zone "zone=routes:8k" is too small/ },
    { name => 'unknown parameter',
      http => 'shipoff_routes zone=routes:1m ttl=5;',
      error => qr/invalid parameter "ttl=5"/ },
    { name => 'empty snapshot path',
      http => 'shipoff_routes zone=routes:1m snapshot=;',
      error => qr/invalid snapshot "snapshot="/ },
    { name => 'zone twice',
      http => "$ZONE $ZONE",
      error => qr/"shipoff_routes" directive is duplicate/ },
    { name => 'zone in a server',
      server => $ZONE,
      error => qr/"shipoff_routes" directive is not allowed here/ },
    { name => 'zone name taken by another module',
      http => "limit_req_zone \$binary_remote_addr zone=routes:1m rate=1r/s; $ZONE",
      error => qr/shared memory zone "routes" is already declared/ },

    { name => 'apps domain',
      http => "$ZONE shipoff_apps_domain Apps.Example.COM;" },
    { name => 'apps domain localhost',
      http => "$ZONE shipoff_apps_domain localhost;" },
    { name => 'apps domain with a leading dot',
      http => "$ZONE shipoff_apps_domain .example.com;",
      error => qr/invalid domain ".example.com"/ },
    { name => 'apps domain with a bad character',
      http => "$ZONE shipoff_apps_domain 'exa mple.com';",
      error => qr/invalid domain "exa mple.com"/ },
    { name => 'apps domain twice',
      http => "$ZONE shipoff_apps_domain a.com; shipoff_apps_domain b.com;",
      error => qr/"shipoff_apps_domain" directive is duplicate/ },

    { name => 'control location',
      http => $ZONE,
      server => 'location /_shipoff/ { shipoff_control; allow 127.0.0.1; deny all; }' },
    { name => 'control location with a body limit',
      http => "$ZONE shipoff_control_max_body 4m;",
      server => 'location /_shipoff/ { shipoff_control; shipoff_control_max_body 64k; }' },
    { name => 'control without a zone',
      server => 'location /_shipoff/ { shipoff_control; }',
      error => qr/"shipoff_control" requires "shipoff_routes"/ },
    { name => 'control with an argument',
      http => $ZONE,
      server => 'location /_shipoff/ { shipoff_control on; }',
      error => qr/invalid number of arguments in "shipoff_control"/ },
    { name => 'control in a server',
      http => $ZONE,
      server => 'shipoff_control;',
      error => qr/"shipoff_control" directive is not allowed here/ },
    { name => 'control body limit not a size',
      http => $ZONE,
      server => 'shipoff_control_max_body lots;',
      error => qr/"shipoff_control_max_body" directive invalid value/ },

    { name => 'static directives',
      server => 'shipoff_static on; shipoff_spa off; '
              . 'shipoff_spa_index /app.html; '
              . 'location /x { shipoff_static off; shipoff_spa on; '
              . 'shipoff_immutable_pattern "\.[0-9a-f]{8,}\.(js|css)$"; } '
              . 'location /y { shipoff_immutable_pattern off; }' },
    { name => 'static not a flag',
      server => 'shipoff_static maybe;',
      error => qr/invalid value "maybe" in "shipoff_static" directive, it must be "on" or "off"/ },
    { name => 'spa index not a URI',
      server => 'shipoff_spa_index index.html;',
      error => qr/"shipoff_spa_index" directive must be a URI starting with "\/"/ },
    { name => 'immutable pattern not a regex',
      server => 'shipoff_immutable_pattern "(";',
      error => qr/pcre2?_compile\(\) failed|missing closing parenthesis|missing \)/ },
    { name => 'immutable pattern twice',
      server => 'shipoff_immutable_pattern a; shipoff_immutable_pattern b;',
      error => qr/"shipoff_immutable_pattern" directive is duplicate/ },
    { name => 'dispatch directives',
      server => 'location / { shipoff_static on; shipoff_dynamic @app; '
              . 'shipoff_no_route @none; location /x/ { shipoff_static off; } } '
              . 'location @app { return 200; } location @none { return 404; }' },
    { name => 'a FastCGI route to its own named location',
      server => 'location / { shipoff_static on; shipoff_dynamic @app; '
              . 'shipoff_dynamic_fastcgi @php; } '
              . 'location @app { return 200; } location @php { return 200; }' },
    { name => 'FastCGI routes to a URI',
      server => 'location / { shipoff_dynamic_fastcgi /php; }',
      error => qr/"shipoff_dynamic_fastcgi" directive must be a named location \("\@name"\)/ },
    { name => 'FastCGI dispatch at server level',
      server => 'shipoff_dynamic_fastcgi @php;',
      error => qr/"shipoff_dynamic_fastcgi" directive is not allowed here/ },
    { name => 'dynamic routes to a URI',
      server => 'location / { shipoff_dynamic /app; }',
      error => qr/"shipoff_dynamic" directive must be a named location \("\@name"\)/ },
    { name => 'no route to a bare "@"',
      server => 'location / { shipoff_no_route @; }',
      error => qr/"shipoff_no_route" directive must be a named location/ },
    { name => 'dispatch at server level',
      server => 'shipoff_dynamic @app;',
      error => qr/"shipoff_dynamic" directive is not allowed here/ },
    { name => 'no route twice',
      server => 'location / { shipoff_no_route @a; shipoff_no_route @b; }',
      error => qr/"shipoff_no_route" directive is duplicate/ },

    { name => 'wake directives',
      server => 'shipoff_wake_uri /_wake; shipoff_wake_timeout 10s; '
              . 'location / { shipoff_wake on; shipoff_wake_check_interval 250ms; }' },
    { name => 'wake without a wake URI',
      server => 'location / { shipoff_wake on; }',
      error => qr/"shipoff_wake" requires "shipoff_wake_uri"/ },
    { name => 'wake URI not a URI',
      server => 'shipoff_wake_uri wake;',
      error => qr/"shipoff_wake_uri" directive must be a URI starting with "\/"/ },
    { name => 'wake timeout not a time',
      server => 'shipoff_wake_timeout soon;',
      error => qr/"shipoff_wake_timeout" directive invalid value/ },
    { name => 'wake check interval zero',
      server => 'shipoff_wake_check_interval 0;',
      error => qr/"shipoff_wake_check_interval" directive must be positive/ },
);

nginx_config_cases(@config_cases);


# 2. control API and routing -------------------------------------------------

my $prefix = tempdir();
my $port = free_port();
my $vars = 'project=$shipoff_project kind=$shipoff_kind state=$shipoff_state '
         . 'root=$shipoff_root upstream=$shipoff_upstream '
         . 'deployment=$shipoff_deployment';

my $conf = nginx_conf(
    prefix => $prefix, port => $port,
    http => 'shipoff_routes zone=routes:64k; shipoff_apps_domain apps.test;',
    server => <<"EOF");
        location /_shipoff/ {
            shipoff_control;
            shipoff_control_max_body 128k;
            allow 127.0.0.1;
            deny all;
        }
        location = /vars { return 200 "$vars"; }
        location = /redirected { try_files /nonexistent /vars; }
        location = /header {
            add_header X-Project \$shipoff_project;
            return 204;
        }
EOF

my $master = start_nginx($prefix, $conf, $port);

my %blog = (project => 'blog', kind => 'static', root => '/srv/sites/blog/d1',
            deployment => 'd1', spa => JSON::PP::true());
my %api = (project => 'api', kind => 'dynamic', upstream => '127.0.0.1:3000',
           state => 'sleeping');

sub route_json {
    my ($host, %r) = @_;
    return { host => $host, project => $r{project}, kind => $r{kind},
             state => $r{state} // 'running', root => $r{root} // '',
             upstream => $r{upstream} // '', deployment => $r{deployment} // '',
             spa => $r{spa} ? JSON::PP::true() : JSON::PP::false(),
             protocol => $r{protocol} // 'http',
             script_root => $r{script_root} // '' };
}

my $big_table = { generation => 99, routes => {
    map { ("big$_.example.com" => { project => "p$_", kind => 'static',
                                   root => '/srv/' . ('x' x 300) . "/$_" }) } 1 .. 150 } };

# Played in order: later cases see what earlier ones did.
#   want: status; json: the whole JSON answer; error/field: an error answer;
#   body: the exact text answer; headers: expected response headers.
my @api_cases = (
    { name => 'empty table', method => 'GET', path => '/_shipoff/routes',
      want => 200, json => { generation => 0, routes => [] },
      headers => { 'content-type' => 'application/json' } },
    { name => 'empty table, trailing slash', method => 'GET', path => '/_shipoff/routes/',
      want => 200, json => { generation => 0, routes => [] } },
    { name => 'HEAD', method => 'HEAD', path => '/_shipoff/routes', want => 200,
      body => '', headers => { 'content-type' => 'application/json' } },
    { name => 'POST is not allowed', method => 'POST', path => '/_shipoff/routes',
      body_in => '{}', want => 405, error => 'method_not_allowed',
      headers => { allow => 'GET, HEAD, PUT' } },
    { name => 'DELETE of the table is not allowed', method => 'DELETE',
      path => '/_shipoff/routes', want => 405, error => 'method_not_allowed' },
    { name => 'PATCH of a route is not allowed', method => 'PATCH',
      path => '/_shipoff/routes/blog', want => 405, error => 'method_not_allowed',
      headers => { allow => 'GET, HEAD, PUT, DELETE' } },
    { name => 'unknown control resource', method => 'GET', path => '/_shipoff/stats',
      want => 404, error => 'not_found' },
    { name => 'no such route', method => 'GET', path => '/_shipoff/routes/blog.apps.test',
      want => 404, error => 'not_found' },
    { name => 'invalid host', method => 'GET', path => '/_shipoff/routes/bad..host',
      want => 400, error => 'validation_failed' },

    { name => 'add a static route by bare name', method => 'PUT',
      path => '/_shipoff/routes/blog', body_in => \%blog,
      want => 201, json => route_json('blog.apps.test', %blog) },
    { name => 'replace it by full host', method => 'PUT',
      path => '/_shipoff/routes/Blog.Apps.Test', body_in => \%blog,
      want => 200, json => route_json('blog.apps.test', %blog) },
    { name => 'add a dynamic route', method => 'PUT',
      path => '/_shipoff/routes/api.example.com', body_in => \%api,
      want => 201, json => route_json('api.example.com', %api) },

    { name => 'variables of a static route', method => 'GET', path => '/vars',
      host => 'blog.apps.test', want => 200,
      body => 'project=blog kind=static state=running root=/srv/sites/blog/d1 '
            . 'upstream= deployment=d1' },
    { name => 'host is case-insensitive, port ignored', method => 'GET',
      path => '/vars', host => 'BLOG.apps.test:8080', want => 200,
      body => 'project=blog kind=static state=running root=/srv/sites/blog/d1 '
            . 'upstream= deployment=d1' },
    { name => 'variables after an internal redirect', method => 'GET',
      path => '/redirected', host => 'blog.apps.test', want => 200,
      body => 'project=blog kind=static state=running root=/srv/sites/blog/d1 '
            . 'upstream= deployment=d1' },
    { name => 'variables of a dynamic route', method => 'GET', path => '/vars',
      host => 'api.example.com', want => 200,
      body => 'project=api kind=dynamic state=sleeping root= '
            . 'upstream=127.0.0.1:3000 deployment=' },
    { name => 'variables of an unknown host are empty', method => 'GET',
      path => '/vars', host => 'nobody.apps.test', want => 200,
      body => 'project= kind= state= root= upstream= deployment=' },
    { name => 'variable in a header', method => 'GET', path => '/header',
      host => 'api.example.com', want => 204, headers => { 'x-project' => 'api' } },

    { name => 'a request counts in its own route', method => 'GET',
      path => '/_shipoff/routes/blog.apps.test', host => 'blog.apps.test',
      extra_headers => { Upgrade => 'websocket' }, want => 200,
      check => sub {
          my $j = shift;
          is($j->{in_flight}, 1, '  in flight: itself');
          is($j->{long_lived}, 1, '  long-lived: itself (Upgrade)');
          is($j->{requests}, 4, '  requests: 3 before (a redirect is one) and itself');
          like($j->{last_request}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
               '  last request: RFC 3339');
      } },
    { name => 'finished requests are no longer in flight', method => 'GET',
      path => '/_shipoff/routes/blog.apps.test', want => 200,
      check => sub {
          my $j = shift;
          is($j->{in_flight}, 0, '  in flight: none');
          is($j->{long_lived}, 0, '  long-lived: none');
          is($j->{requests}, 4, '  requests: still 4');
      } },

    { name => 'malformed JSON', method => 'PUT', path => '/_shipoff/routes/x',
      body_in => '{"project":', want => 400, error => 'malformed_json' },
    { name => 'empty body', method => 'PUT', path => '/_shipoff/routes/x',
      body_in => '', want => 400, error => 'malformed_json' },
    { name => 'not an object', method => 'PUT', path => '/_shipoff/routes/x',
      body_in => '["blog"]', want => 400, error => 'malformed_json' },
    { name => 'trailing data', method => 'PUT', path => '/_shipoff/routes/x',
      body_in => '{"project":"x","kind":"static","root":"/x"} {}',
      want => 400, error => 'malformed_json' },
    { name => 'trailing comma', method => 'PUT', path => '/_shipoff/routes/x',
      body_in => '{"project":"x","kind":"static","root":"/x",}',
      want => 400, error => 'malformed_json' },
    { name => 'duplicate key', method => 'PUT', path => '/_shipoff/routes/x',
      body_in => '{"project":"x","project":"y","kind":"static","root":"/x"}',
      want => 400, error => 'malformed_json', field => 'project' },
    { name => 'NUL escape', method => 'PUT', path => '/_shipoff/routes/x',
      body_in => '{"project":"x","kind":"static","root":"/x\u0000"}',
      want => 400, error => 'malformed_json' },
    { name => 'spa not a boolean', method => 'PUT', path => '/_shipoff/routes/x',
      body_in => { project => 'x', kind => 'static', root => '/x', spa => 'yes' },
      want => 400, error => 'malformed_json' },
    { name => 'unknown field', method => 'PUT', path => '/_shipoff/routes/x',
      body_in => { project => 'x', kind => 'static', root => '/x', port => 1 },
      want => 400, error => 'unknown_field', field => 'port' },
    { name => 'project missing', method => 'PUT', path => '/_shipoff/routes/x',
      body_in => { kind => 'static', root => '/x' },
      want => 400, error => 'validation_failed', field => 'project' },
    { name => 'project with a slash', method => 'PUT', path => '/_shipoff/routes/x',
      body_in => { project => 'a/b', kind => 'static', root => '/x' },
      want => 400, error => 'validation_failed', field => 'project' },
    { name => 'kind missing', method => 'PUT', path => '/_shipoff/routes/x',
      body_in => { project => 'x', root => '/x' },
      want => 400, error => 'validation_failed', field => 'kind' },
    { name => 'unknown kind', method => 'PUT', path => '/_shipoff/routes/x',
      body_in => { project => 'x', kind => 'lambda' },
      want => 400, error => 'validation_failed', field => 'kind' },
    { name => 'unknown state', method => 'PUT', path => '/_shipoff/routes/x',
      body_in => { project => 'x', kind => 'static', root => '/x', state => 'dead' },
      want => 400, error => 'validation_failed', field => 'state' },
    { name => 'static without a root', method => 'PUT', path => '/_shipoff/routes/x',
      body_in => { project => 'x', kind => 'static' },
      want => 400, error => 'validation_failed', field => 'root' },
    { name => 'relative root', method => 'PUT', path => '/_shipoff/routes/x',
      body_in => { project => 'x', kind => 'static', root => 'srv/x' },
      want => 400, error => 'validation_failed', field => 'root' },
    { name => 'root with ..', method => 'PUT', path => '/_shipoff/routes/x',
      body_in => { project => 'x', kind => 'static', root => '/srv/../etc' },
      want => 400, error => 'validation_failed', field => 'root' },
    { name => 'dynamic without an upstream', method => 'PUT', path => '/_shipoff/routes/x',
      body_in => { project => 'x', kind => 'dynamic' },
      want => 400, error => 'validation_failed', field => 'upstream' },
    { name => 'upstream without a port', method => 'PUT', path => '/_shipoff/routes/x',
      body_in => { project => 'x', kind => 'dynamic', upstream => '127.0.0.1' },
      want => 400, error => 'validation_failed', field => 'upstream' },
    { name => 'unknown protocol', method => 'PUT', path => '/_shipoff/routes/x',
      body_in => { project => 'x', kind => 'dynamic', upstream => '10.0.0.1:9000',
                   protocol => 'uwsgi', script_root => '/srv/x' },
      want => 400, error => 'validation_failed', field => 'protocol',
      like => qr/"message":"must be \\"http\\" or \\"fastcgi\\""/ },
    { name => 'protocol not a string', method => 'PUT', path => '/_shipoff/routes/x',
      body_in => { project => 'x', kind => 'dynamic', upstream => '10.0.0.1:9000',
                   protocol => 1 },
      want => 400, error => 'malformed_json' },
    { name => 'fastcgi without a script root', method => 'PUT',
      path => '/_shipoff/routes/x',
      body_in => { project => 'x', kind => 'dynamic', upstream => '10.0.0.1:9000',
                   protocol => 'fastcgi' },
      want => 400, error => 'validation_failed', field => 'script_root',
      like => qr/is required for a fastcgi route/ },
    { name => 'fastcgi for a static route', method => 'PUT', path => '/_shipoff/routes/x',
      body_in => { project => 'x', kind => 'static', root => '/x',
                   protocol => 'fastcgi', script_root => '/x' },
      want => 400, error => 'validation_failed', field => 'protocol' },
    { name => 'relative script root', method => 'PUT', path => '/_shipoff/routes/x',
      body_in => { project => 'x', kind => 'dynamic', upstream => '10.0.0.1:9000',
                   protocol => 'fastcgi', script_root => 'srv/x' },
      want => 400, error => 'validation_failed', field => 'script_root' },
    { name => 'script root with ..', method => 'PUT', path => '/_shipoff/routes/x',
      body_in => { project => 'x', kind => 'dynamic', upstream => '10.0.0.1:9000',
                   protocol => 'fastcgi', script_root => '/srv/x/../../etc' },
      want => 400, error => 'validation_failed', field => 'script_root' },
    { name => 'a fastcgi route', method => 'PUT', path => '/_shipoff/routes/php',
      body_in => { project => 'php', kind => 'dynamic', upstream => '10.0.0.1:9000',
                   protocol => 'fastcgi', script_root => '/srv/php/public',
                   root => '/srv/php/public', deployment => '7' },
      want => 201,
      json => route_json('php.apps.test', project => 'php', kind => 'dynamic',
                         upstream => '10.0.0.1:9000', protocol => 'fastcgi',
                         script_root => '/srv/php/public',
                         root => '/srv/php/public', deployment => '7') },
    { name => 'an http route says so', method => 'PUT', path => '/_shipoff/routes/php',
      body_in => { project => 'php', kind => 'dynamic', upstream => '10.0.0.1:9000',
                   protocol => 'http' },
      want => 200,
      json => route_json('php.apps.test', project => 'php', kind => 'dynamic',
                         upstream => '10.0.0.1:9000') },
    { name => 'which goes', method => 'DELETE', path => '/_shipoff/routes/php',
      want => 204 },
    { name => 'invalid host in the URI', method => 'PUT', path => '/_shipoff/routes/a%20b',
      body_in => \%blog, want => 400, error => 'validation_failed' },
    { name => 'escapes are decoded', method => 'PUT',
      path => '/_shipoff/routes/esc.example.com',
      body_in => '{"project":"\u0065sc","kind":"static","root":"\/srv\/esc"}',
      want => 201, json => route_json('esc.example.com', project => 'esc',
                                      kind => 'static', root => '/srv/esc') },
    { name => 'body over shipoff_control_max_body', method => 'PUT',
      path => '/_shipoff/routes/x', body_in => ' ' x 200_000 . '{}',
      want => 413, error => 'body_too_large' },
    { name => 'chunked body over shipoff_control_max_body', method => 'PUT',
      path => '/_shipoff/routes/x', body_in => ' ' x 200_000 . '{}', chunked => 1,
      want => 413, error => 'body_too_large' },
    { name => 'chunked body', method => 'PUT', path => '/_shipoff/routes/esc.example.com',
      body_in => { project => 'esc2', kind => 'static', root => '/srv/esc2' },
      chunked => 1, want => 200,
      json => route_json('esc.example.com', project => 'esc2', kind => 'static',
                         root => '/srv/esc2') },
    { name => 'nothing half-applied', method => 'GET', path => '/_shipoff/routes',
      want => 200,
      check => sub {
          my $j = shift;
          is_deeply([sort map { $_->{host} } @{ $j->{routes} }],
                    [qw(api.example.com blog.apps.test esc.example.com)],
                    '  only the routes that were accepted');
      } },

    { name => 'delete a route', method => 'DELETE', path => '/_shipoff/routes/esc.example.com',
      want => 204, body => '' },
    { name => 'delete it again', method => 'DELETE', path => '/_shipoff/routes/esc.example.com',
      want => 404, error => 'not_found' },

    { name => 'table without a generation', method => 'PUT', path => '/_shipoff/routes',
      body_in => { routes => {} }, want => 400, error => 'validation_failed',
      field => 'generation' },
    { name => 'table without routes', method => 'PUT', path => '/_shipoff/routes',
      body_in => { generation => 1 }, want => 400, error => 'validation_failed',
      field => 'routes' },
    { name => 'table with a negative generation', method => 'PUT', path => '/_shipoff/routes',
      body_in => '{"generation":-1,"routes":{}}', want => 400, error => 'malformed_json' },
    { name => 'table with an unknown key', method => 'PUT', path => '/_shipoff/routes',
      body_in => { generation => 1, routes => {}, extra => 1 }, want => 400,
      error => 'unknown_field', field => 'extra' },
    { name => 'table with one host twice', method => 'PUT', path => '/_shipoff/routes',
      body_in => { generation => 1, routes => { blog => \%blog, 'blog.apps.test' => \%blog } },
      want => 400, error => 'validation_failed', field => 'blog.apps.test' },
    { name => 'table with a bad route', method => 'PUT', path => '/_shipoff/routes',
      body_in => { generation => 1, routes => { blog => \%blog,
                                                'c.example.com' => { project => 'c' } } },
      want => 400, error => 'validation_failed', field => 'c.example.com.kind' },
    { name => 'table too large for the zone', method => 'PUT', path => '/_shipoff/routes',
      body_in => $big_table, want => 507, error => 'zone_full' },
    { name => 'table unchanged after 507', method => 'GET', path => '/_shipoff/routes',
      want => 200,
      check => sub {
          my $j = shift;
          is($j->{generation}, 0, '  generation: 0');
          is(scalar @{ $j->{routes} }, 2, '  routes: 2');
      } },
    { name => 'replace the table', method => 'PUT', path => '/_shipoff/routes',
      body_in => { generation => 5, routes => {
          blog => { %blog, deployment => 'd2', root => '/srv/sites/blog/d2' },
          'new.example.com' => { project => 'new', kind => 'dynamic',
                                 upstream => '[::1]:8080', state => 'waking' } } },
      want => 200, json => { generation => 5, routes => 2 } },
    { name => 'the new table', method => 'GET', path => '/_shipoff/routes', want => 200,
      check => sub {
          my $j = shift;
          is($j->{generation}, 5, '  generation: 5');
          my %by = map { $_->{host} => $_ } @{ $j->{routes} };
          is_deeply([sort keys %by], [qw(blog.apps.test new.example.com)], '  hosts');
          is($by{'blog.apps.test'}{deployment}, 'd2', '  blog: new deployment');
          is($by{'blog.apps.test'}{requests}, 4, '  blog: activity kept');
          is($by{'new.example.com'}{requests}, 0, '  new: no activity yet');
      } },
    { name => 'a removed route no longer routes', method => 'GET', path => '/vars',
      host => 'api.example.com', want => 200,
      body => 'project= kind= state= root= upstream= deployment=' },
    { name => 'a replaced route routes anew', method => 'GET', path => '/vars',
      host => 'new.example.com', want => 200,
      body => 'project=new kind=dynamic state=waking root= upstream=[::1]:8080 deployment=' },
);

for my $case (@api_cases) {
    my $res = request($port, $case->{method}, $case->{path},
        body => $case->{body_in}, chunked => $case->{chunked},
        headers => { ($case->{host} ? (Host => $case->{host}) : ()),
                     %{ $case->{extra_headers} || {} } });
    my $label = "$case->{method} $case->{path}"
        . ($case->{host} ? " (Host: $case->{host})" : '') . ": $case->{name}";
    check_answer($res, $case, $label);
    $case->{check}->($res->{json} || {}) if $case->{check};
}

# a reload keeps the zone, and so the table
ok(reload_nginx($master), 'nginx reloads');
sleep 0.5;
my $res = request($port, 'GET', '/_shipoff/routes');
is(($res->{json} || {})->{generation}, 5, 'the table survives a reload');
is(scalar @{ $res->{json}{routes} || [] }, 2, '  with its routes');

stop_nginx($master);
is_deeply([bad_log_lines($prefix, 'alert|emerg|crit|error')], [],
          'no [alert], [emerg], [crit] or [error] in error.log');


# 3. snapshot -----------------------------------------------------------------

my @snapshot_cases = (
    { name => 'a snapshot fills a fresh zone',
      snapshot => json_encode({ generation => 42, routes => {
          'Snap.Example.com' => { project => 'snap', kind => 'dynamic',
                                  upstream => '127.0.0.1:8081',
                                  deployment => 'dep-1' } } }),
      generation => 42, hosts => ['snap.example.com'],
      log => qr/\[notice\].*loaded 1 routes of generation 42/ },
    { name => 'a malformed snapshot is ignored',
      snapshot => '{"generation": 3, "routes": {',
      generation => 0, hosts => [],
      log => qr/\[error\].*route snapshot ".*" ignored, malformed_json/ },
    { name => 'an invalid snapshot is ignored',
      snapshot => json_encode({ generation => 3, routes => { a => { project => 'a' } } }),
      generation => 0, hosts => [],
      log => qr/\[error\].*route snapshot ".*" ignored, validation_failed/ },
    { name => 'a missing snapshot is no error',
      generation => 0, hosts => [],
      log => qr/\[notice\].*routes\.json" failed, route table starts empty/ },
);

for my $case (@snapshot_cases) {
    my $prefix = tempdir();
    my $port = free_port();
    write_file("$prefix/routes.json", $case->{snapshot}) if defined $case->{snapshot};
    my $master = start_nginx($prefix, nginx_conf(
        prefix => $prefix, port => $port,
        http => 'shipoff_routes zone=routes:1m snapshot=routes.json;',
        server => 'location /_shipoff/ { shipoff_control; }'), $port);
    my $res = request($port, 'GET', '/_shipoff/routes');
    is(($res->{json} || {})->{generation}, $case->{generation},
       "$case->{name}: generation");
    is_deeply([map { $_->{host} } @{ ($res->{json} || {})->{routes} || [] }],
              $case->{hosts}, '  routes');
    stop_nginx($master);
    like(read_file("$prefix/error.log"), $case->{log}, '  logged');
    is_deeply([bad_log_lines($prefix, 'alert|emerg|crit')], [], '  no [alert], [emerg], [crit]');
}

done_testing();
