# ShipoffSSE: a live log tail (Server-Sent Events) read as a browser's
# EventSource would, over a plain socket to the stack's nginx.
#
#   my $st = sse_open($port, PATH, WHO, HEADERS);  # {status, headers, ...}
#   my $ev = sse_next($st, SECS);   # {id, event, data, comment} or undef
#   my @ev = sse_rest($st, SECS);   # until "end", the end or SECS

package ShipoffSSE;

use strict;
use warnings;
use Exporter 'import';
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time);

our @EXPORT_OK = qw(sse_open sse_next sse_rest);

sub sse_open {
    my ($port, $path, $who, %h) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $port, Timeout => 5)
        or die "connect: $!";
    $h{Authorization} = "Bearer $who->{access_token}" if $who;
    print $sock "GET $path HTTP/1.0\r\nHost: 127.0.0.1\r\n"
        . "Accept: text/event-stream\r\n"
        . join('', map { "$_: $h{$_}\r\n" } sort keys %h) . "\r\n";
    my $st = { sock => $sock, buf => '', headers => {} };
    my $sel = IO::Select->new($sock);
    until ($st->{buf} =~ /\r\n\r\n/) {
        $sel->can_read(10) or die "sse_open $path: no answer";
        sysread($sock, $st->{buf}, 65536, length $st->{buf}) or last;
    }
    my ($head, $rest) = split /\r\n\r\n/, $st->{buf}, 2;
    $st->{buf} = $rest // '';
    my ($status_line, @lines) = split /\r\n/, $head;
    ($st->{status}) = $status_line =~ /^HTTP\/1\.\d (\d+)/;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        $st->{headers}{lc $k} = $v;
    }
    return $st;
}

sub sse_next {
    my ($st, $secs) = @_;
    my $sel = IO::Select->new($st->{sock});
    my $end = time + $secs;
    for (;;) {
        if ($st->{buf} =~ s/\A(.*?)\n\n//s) {
            my %ev;
            for my $l (split /\n/, $1) {
                if ($l =~ /^:\s?(.*)$/) { $ev{comment} = $1; next }
                my ($k, $v) = $l =~ /^([a-z]+): ?(.*)$/ or next;
                $ev{$k} = $k eq 'data' && defined $ev{data}
                          ? "$ev{data}\n$v" : $v;
            }
            next if !%ev || (keys %ev == 1 && exists $ev{retry});
            return \%ev;
        }
        my $left = $end - time;
        return undef if $left <= 0 || !$sel->can_read($left);
        my $n = sysread($st->{sock}, $st->{buf}, 65536, length $st->{buf});
        if (!$n) { $st->{eof} = 1; return undef }
    }
}

sub sse_rest {
    my ($st, $secs) = @_;
    my @ev;
    my $end = time + $secs;
    while (my $ev = sse_next($st, $end - time)) {
        push @ev, $ev;
        last if ($ev->{event} // '') eq 'end';
    }
    return @ev;
}


1;
