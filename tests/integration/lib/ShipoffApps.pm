# ShipoffApps: the processes of shipoffd's dynamic apps, for the tests and
# benchmarks that run them.  Apps outlive shipoffd by design (a restarted
# shipoffd adopts them); the stack's down (scripts/stack) kills what is
# left under its cgroup parent.
#
#   use ShipoffApps qw(app_procs);
#   my @pids = app_procs($parent, $deployment);   # () once it is gone

package ShipoffApps;

use strict;
use warnings;
use Exporter 'import';

our @EXPORT_OK = qw(app_procs);

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


1;
