# gen_control_flow.py — writes tests/onnx/control_flow/: If nested in If and a Loop whose bodies read values of
# enclosing graphs (outer-scope captures, as in silero VAD), with two data sets checked by hand. No onnx package needed.
import os, sys
os.chdir(os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])), 'control_flow'))
import struct
def varint(v):
    out=b''
    while True:
        b=v&0x7f; v>>=7
        if v: out+=bytes([b|0x80])
        else: return out+bytes([b])
def fld(n,wt,payload):
    tag=varint((n<<3)|wt)
    if wt==0: return tag+varint(payload)
    return tag+varint(len(payload))+payload
def s(n,x): return fld(n,2,x.encode() if isinstance(x,str) else x)
def node(op,ins,outs,attrs=b''):
    return b''.join(s(1,i) for i in ins)+b''.join(s(2,o) for o in outs)+s(4,op)+attrs
def gattr(name,g): return s(5, s(1,name)+s(6,g)+fld(20,0,5))
def vi(name,et,dims):
    shape=b''.join(s(1,fld(1,0,d)) for d in dims)
    return s(1,name)+s(2, s(1, fld(1,0,et)+s(2,shape)))
def graph(nodes,inputs,outputs,name='g'):
    return b''.join(s(1,n) for n in nodes)+s(2,name)+b''.join(s(11,i) for i in inputs)+b''.join(s(12,o) for o in outputs)
def model(g): return fld(1,0,8)+s(8, s(1,'')+fld(2,0,13))+s(7,g)
def tensor(name,et,dims,raw): return b''.join(fld(1,0,d) for d in dims)+fld(2,0,et)+s(8,name)+s(9,raw)
F=1; B=9; I64=7
inner_then=graph([node('Mul',['t','x'],['u'])],[],[vi('u',F,[3])],'inner_then')
inner_else=graph([node('Identity',['y'],['u'])],[],[vi('u',F,[3])],'inner_else')
then_b=graph([node('Add',['x','y'],['t']), node('If',['c'],['u'], gattr('then_branch',inner_then)+gattr('else_branch',inner_else))],[],[vi('u',F,[3])],'then')
else_b=graph([node('Sub',['x','y'],['w'])],[],[vi('w',F,[3])],'else')
body=graph([node('Add',['acc_in','y'],['acc_out']), node('Identity',['cond_in'],['cond_out']), node('Identity',['acc_out'],['scan'])],
  [vi('i',I64,[]), vi('cond_in',B,[]), vi('acc_in',F,[3])],[vi('cond_out',B,[]), vi('acc_out',F,[3]), vi('scan',F,[3])],'body')
root=graph([node('If',['c'],['z'], gattr('then_branch',then_b)+gattr('else_branch',else_b)),
            node('Loop',['M','','x'],['acc','scans'], gattr('body',body))],
  [vi('c',B,[1]), vi('x',F,[3]), vi('y',F,[3]), vi('M',I64,[])],[vi('z',F,[3]), vi('acc',F,[3]), vi('scans',F,[3,3])])
open('model.onnx','wb').write(model(root))
for d, cv in (('test_data_set_0', 1), ('test_data_set_1', 0)):
    os.makedirs(d, exist_ok=True)
    open(d + '/input_0.pb', 'wb').write(tensor('c', B, [1], bytes([cv])))
    open(d + '/input_1.pb', 'wb').write(tensor('x', F, [3], struct.pack('3f', 1, 2, 3)))
    open(d + '/input_2.pb', 'wb').write(tensor('y', F, [3], struct.pack('3f', 10, 20, 30)))
    open(d + '/input_3.pb', 'wb').write(tensor('M', I64, [], struct.pack('q', 3)))
    # c: z = (x + y) * x, else x - y; Loop x3: acc = x + 3y, scans = [x+y, x+2y, x+3y]
    z = [11, 44, 99] if cv else [-9, -18, -27]
    open(d + '/output_0.pb', 'wb').write(tensor('z', F, [3], struct.pack('3f', *z)))
    open(d + '/output_1.pb', 'wb').write(tensor('acc', F, [3], struct.pack('3f', 31, 62, 93)))
    open(d + '/output_2.pb', 'wb').write(tensor('scans', F, [3, 3], struct.pack('9f', 11, 22, 33, 21, 42, 63, 31, 62, 93)))
