# ShipoffApps: the processes of shipoffd's dynamic apps, for the tests and
# benchmarks that run them.  Apps outlive shipoffd by design (a restarted
# shipoffd adopts them), so a stack going down leaves them running: who
# starts a stack with apps gives it a cgroup parent of its own and calls
# drop_apps() once the stack is down.
#
#   use ShipoffApps qw(app_procs drop_apps);
#   my @pids = app_procs($parent, $deployment);   # () once it is gone
#   drop_apps($parent);    # kills every app under it, removes the cgroups

package ShipoffApps;

use strict;
use warnings;
use Exporter 'import';
use Time::HiRes qw(sleep);

our @EXPORT_OK = qw(app_procs drop_apps);

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

sub drop_apps {
    my ($parent) = @_;
    for (1 .. 50) {
        my @left = app_procs($parent, '*');
        last unless @left;
        kill 'KILL', @left;
        sleep 0.1;
    }
    for my $dir (grep { -d } glob("/sys/fs/cgroup/*/$parent"),
                             "/sys/fs/cgroup/$parent")
    {
        system('find', $dir, '-depth', '-type', 'd', '-exec', 'rmdir', '{}',
               '+');
    }
}

1;
