# ShipoffCli: runs the shipoff CLI (cli/shipoff) against a stack the way a
# person does, with a HOME of its own (the real ~ is never touched).
#
#   my $cli = ShipoffCli->new($s);           # $s from stack_up()
#   my $r = $cli->run('whoami');             # {rc, out, err, json}
#   $r = $cli->run({ stdin => "pw\n", env => { SHIPOFF_TOKEN => $t },
#                    cwd => $dir }, qw(login --email a@b.c --password-stdin));
#   my $bg = $cli->start('logs', '-f', $id);  ... $cli->finish($bg);
#
# SHIPOFF_CLI names another build of the client (a sanitizer's, say).

package ShipoffCli;

use strict;
use warnings;
use POSIX ();
use ShipoffTest qw(tempdir top_dir json_decode);

sub new {
    my ($class, $stack) = @_;
    my $tmp = tempdir();
    mkdir "$tmp/home" or die "mkdir $tmp/home: $!";
    return bless { stack => $stack, tmp => $tmp, home => "$tmp/home",
                   runs => 0,
                   bin => $ENV{SHIPOFF_CLI} // top_dir() . '/cli/shipoff' },
                 $class;
}

sub bin  { $_[0]{bin} }
sub home { $_[0]{home} }

sub slurp {
    open my $fh, '<', $_[0] or return '';
    local $/;
    return <$fh> // '';
}

# start([{stdin, env, cwd}], ARGS...): the CLI in the background, with
# HOME, the stack's API and no SHIPOFF_TOKEN unless env gives one
sub start {
    my $self = shift;
    my %o = ref $_[0] eq 'HASH' ? %{ shift() } : ();
    my $io = "$self->{tmp}/run" . ++$self->{runs};

    open my $in, '>', "$io.in" or die "$io.in: $!";
    print $in $o{stdin} // '';
    close $in;

    my $pid = fork // die "fork: $!";
    if (!$pid) {
        delete @ENV{qw(SHIPOFF_TOKEN XDG_CONFIG_HOME)};
        %ENV = (%ENV, HOME => $self->{home},
                SHIPOFF_API => $self->{stack}->url(''), %{ $o{env} || {} });
        delete $ENV{$_} for grep { !defined $ENV{$_} } keys %ENV;
        chdir($o{cwd} // $self->{tmp}) or die "chdir: $!";
        open STDIN, '<', "$io.in" or die;
        open STDOUT, '>', "$io.out" or die;
        open STDERR, '>', "$io.err" or die;
        exec $self->{bin}, @_ or POSIX::_exit(127);
    }
    return { pid => $pid, io => $io };
}

# finish(RUN): waits for it; {rc, out, err, json (when stdout is JSON)}
sub finish {
    my ($self, $run) = @_;
    waitpid $run->{pid}, 0;
    my %r = (rc => $? >> 8, out => slurp("$run->{io}.out"),
             err => slurp("$run->{io}.err"));
    $r{json} = eval { json_decode($r{out}) };
    return \%r;
}

sub run { my $self = shift; $self->finish($self->start(@_)) }

1;
