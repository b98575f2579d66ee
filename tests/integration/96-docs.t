# The docs at /docs/ (issue 14): scripts/docsite turns docs/*.md into
# pages, an index and a search index, escaping everything it reads; the
# platform's nginx serves them at /docs/ of the public address with a CSP
# of script-src 'self'; in a real browser (tests/browser/docs.mjs, Debian's
# chromium) Ctrl+K searches them and leads to the right page, and axe-core
# finds no serious or critical violation, in light and in dark.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use ShipoffTest qw(stack_up http tempdir top_dir run json_decode);
use ShipoffBrowser qw(browser_test);

my $top = top_dir();

sub slurp {
    my ($path) = @_;
    open my $fh, '<:encoding(UTF-8)', $path or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

# ---- the converter: each case a Markdown text, what its page must hold
# and what it must not

my @cases = (
    { name => 'text is escaped, never raw HTML',
      md => "# T\n\nA <script>alert(1)</script> & \"q\"\n",
      like => [qr{<p>A &lt;script&gt;alert\(1\)&lt;/script&gt; &amp; &quot;q&quot;</p>}],
      unlike => [qr{<script>alert}] },
    { name => 'a code fence, escaped, its language kept',
      md => "# T\n\n```sh\necho '<b>' && ls\n```\n",
      like => [qr{<pre tabindex="0"><code class="language-sh">echo &#x27;&lt;b&gt;&#x27; &amp;&amp; ls</code></pre>}] },
    { name => 'headings get anchors, repeats numbered',
      md => "# T\n\n## Keys and values\n\n## Keys and values\n",
      like => [qr{<h2 id="keys-and-values">}, qr{<h2 id="keys-and-values-1">}] },
    { name => 'a table with inline code in its cells',
      md => "# T\n\n| a | b |\n|---|--:|\n| `x\\|y` | **z** |\n",
      like => [qr{<th>a</th><th class="align-right">b</th>},
               qr{<td><code>x\|y</code></td><td class="align-right"><strong>z</strong></td>}] },
    { name => 'links: another doc to its page, javascript: dropped',
      md => "# T\n\nSee [ops](OPERATIONS.md#backups) and [x](javascript:alert(1)).\n",
      like => [qr{<a href="operations.html#backups">ops</a>},
               qr{<a href="#">x</a>}],
      unlike => [qr{javascript:}] },
    { name => 'lists, nested, and a wrapped line that starts with a number',
      md => "# T\n\n- one\n  - inner\n- two\n\n1. first\n   404. is not an item\n2. second\n",
      like => [qr{<ul>\n<li>one\n<ul>\n<li>inner</li>\n</ul></li>\n<li>two</li>\n</ul>},
               qr{<ol>\n<li>first\n404\. is not an item</li>\n<li>second</li>\n</ol>}] },
    { name => 'emphasis and inline code, no emphasis inside code',
      md => "# T\n\n*a* **b** `c*d*e` x_y_z\n",
      like => [qr{<em>a</em> <strong>b</strong> <code>c\*d\*e</code> x_y_z}] },
);

for my $c (@cases) {
    my $src = tempdir();
    my $out = tempdir();
    open my $fh, '>', "$src/CASE.md" or die $!;
    print $fh $c->{md};
    close $fh;
    my ($rc, $msg) = run("$top/scripts/docsite", $src, "$top/docs/web", $out);
    is($rc, 0, "docsite: $c->{name}") or diag $msg;
    my $html = slurp("$out/case.html");
    like($html, $_, "  holds $_") for @{ $c->{like} || [] };
    unlike($html, $_, "  not $_") for @{ $c->{unlike} || [] };
}

# the search index: one entry per section, with its page and anchor
my $out = tempdir();
open my $stale, '>', "$out/gone.html" or die $!;    # a doc removed since
close $stale;
my ($rc, $msg) = run("$top/scripts/docsite", "$top/docs", "$top/docs/web",
                     $out);
is($rc, 0, 'docsite builds docs/*.md') or diag $msg;
ok(!-e "$out/gone.html", "  the page of a removed doc is gone");
my $index = json_decode(slurp("$out/search.json"));
my ($env) = grep { $_->{page} eq 'api.html'
                   && $_->{heading} eq 'Environment variables' } @$index;
ok($env, 'search.json: the section "Environment variables" of api.html');
is($env && $env->{id}, 'environment-variables', '  with its anchor');
like($env && $env->{text}, qr/HOSTALIASES/, '  and its text');
ok(-f "$out/$_", "  $_ is there")
    for qw(index.html api.html operations.html docs.js docs.css favicon.svg);

# ---- served by the platform's nginx, read in a browser

my $s = stack_up();
my $res = http(GET => $s->url('/docs'));
is($res->{status}, 301, '/docs redirects');
like($res->{headers}{location} // '', qr{/docs/$}, '  to /docs/');
$res = http(GET => $s->url('/docs/api.html'));
is($res->{status}, 200, '/docs/api.html: 200');
like($res->{headers}{'content-type'}, qr{^text/html}, '  HTML');
like($res->{headers}{'content-security-policy'} // '',
     qr/script-src 'self'/, "  CSP: script-src 'self'");
unlike($res->{content}, qr/<script>|<style>|\son\w+=/i,
       '  no inline script, style or handler');
is(http(GET => $s->url('/docs/nope.html'))->{status}, 404,
   'a page that does not exist: 404');

browser_test($s, 'tests/browser/docs.mjs',
             SHIPOFF_DOCS_WORD => 'HOSTALIASES',
             SHIPOFF_DOCS_HEADING => 'Environment variables');

done_testing;
