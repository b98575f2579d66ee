# ShipoffApps: the processes of shipoffd's dynamic apps, for the tests and
# benchmarks that run them.  Apps outlive shipoffd by design (a restarted
# shipoffd adopts them); the stack's down (scripts/stack) kills what is
# left under its cgroup parent.
#
#   use ShipoffApps qw(app_procs wait_final);
#   my @pids = app_procs($parent, $deployment);   # () once it is gone
#   my $state = wait_final($stack, $deployment, 120);

package ShipoffApps;

use strict;
use warnings;
use Exporter 'import';
use ShipoffTest qw(wait_for);

our @EXPORT_OK = qw(app_procs wait_final);

# the pids in the cgroup of deployment's app ('*': of every app)
sub app_procs {
    my ($parent, $deployment) = @_;
    my $name = "app-$deployment";
    my %pids;
    for my $f (glob("/sys/fs/cgroup/*/$parent/$name/cgroup.procs"),
               glob("/sys/fs/cgroup/$parent/$name/cgroup.procs"))
    {
        open my $fh, '<', $f or next;
        $pids{$_} = 1 for grep { /^\d+$/ } map { chomp; $_ } <$fh>;
    }
    my @pids = sort keys %pids;
    return @pids;
}


# the state deployment $dep ends in (PRODUCTION, INACTIVE, FAILED or
# CANCELED), waited for up to $secs seconds; else the one it is in then
sub wait_final {
    my ($s, $dep, $secs) = @_;
    my %final = map { $_ => 1 } qw(PRODUCTION INACTIVE FAILED CANCELED);
    my $st = '';
    wait_for($secs, sub {
        $st = $s->psql("SELECT state FROM deployments WHERE id = $dep");
        $final{$st};
    });
    return $st;
}


1;
