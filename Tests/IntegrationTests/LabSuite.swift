import Testing

/// Every lab test shares one lab: its hosts, agents and NFS server. They run
/// one at a time (the trait applies to every nested suite), since one test
/// restarts agents or cuts routes that another relies on.
@Suite(.serialized) struct LabSuite {}
